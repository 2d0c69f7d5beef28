import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import {
  causeText,
  ErrDLQStreamMissing,
  ErrInvalidSubject,
  ErrStreamNotFound,
} from "../errors/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { subjectsOverlap } from "../subject/index.js";
import type { StreamFacts } from "./facts.js";
import type { StreamIdentity } from "./recovery.js";

/** True for the JetStream API's "stream not found" (10059), however the client surfaced it. */
export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/** True for the JetStream API's "consumer not found" (10014). */
export function isConsumerNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;
}

/** The route's stream is gone or was never created: an error that names both. */
export function streamNotFound(spec: JetStreamRouteSpec, cause?: unknown): Error {
  return new ErrStreamNotFound(
    `stream "${spec.stream}" of route "${spec.name}" does not exist`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The route's stream as the engine tells it apart from a new stream of the same name; fails
 * with ErrStreamNotFound unless it exists.
 */
export async function requireStream(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
): Promise<StreamIdentity> {
  try {
    const { created, config, state } = await jsm.streams.info(spec.stream);
    return {
      created,
      retention: config.retention,
      firstSeq: state.first_seq,
      lastSeq: state.last_seq,
    };
  } catch (cause) {
    if (isStreamNotFound(cause)) throw streamNotFound(spec, cause);
    throw cause;
  }
}

/**
 * Fails with ErrDLQStreamMissing unless some stream stores the route's DLQ subject: without one,
 * every dead letter would fail to publish and cycle forever, so it is a startup error.
 */
export async function requireDLQStream(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
): Promise<void> {
  if (spec.dlq === undefined) return;
  try {
    await jsm.streams.find(spec.dlq);
  } catch (cause) {
    if (!isStreamNotFound(cause)) throw cause;
    throw new ErrDLQStreamMissing(
      `no stream stores DLQ subject "${spec.dlq}" of route "${spec.name}": ${causeText(cause)}`,
      { cause },
    );
  }
}

/** What the consumer contract needs of the route's stream; ErrStreamNotFound when it is gone. */
export async function streamFacts(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
): Promise<StreamFacts> {
  try {
    return factsOf((await jsm.streams.info(spec.stream)).config);
  } catch (cause) {
    if (isStreamNotFound(cause)) throw streamNotFound(spec, cause);
    throw cause;
  }
}

/**
 * Fails with ErrInvalidSubject when a route subject matches none of the stream's subjects (a
 * typo): 2.10+ accept such a filter and deliver nothing, 2.9 refuses it with a bare string. A
 * stream that also stores other subjects (sources, a mirror, a subject transform) is not checked.
 */
export function requireStoredSubjects(spec: JetStreamRouteSpec, stream: StreamFacts): void {
  if (!stream.subjectsComplete || stream.subjects.length === 0) return;
  for (const subject of spec.subjects) {
    if (stream.subjects.some((s) => subjectsOverlap(s, subject))) continue;
    throw new ErrInvalidSubject(
      subject,
      `route "${spec.name}" consumes it from stream "${spec.stream}", which stores none of it ` +
        `(its subjects: ${stream.subjects.join(", ")}); fix the subject, or add it to the stream (ensureStream)`,
    );
  }
}

/** The contract's facts from a stream's config (as `jsm.streams.info` returns it). */
export function factsOf(config: StreamConfig): StreamFacts {
  const transformed = config.subject_transform !== undefined && config.subject_transform !== null;
  return {
    subjects: config.subjects ?? [],
    subjectsComplete:
      (config.sources?.length ?? 0) === 0 && config.mirror === undefined && !transformed,
    retention: config.retention,
    maxAckPendingLimit: config.consumer_limits?.max_ack_pending ?? 0,
    inactiveThresholdLimit: config.consumer_limits?.inactive_threshold ?? 0,
  };
}
