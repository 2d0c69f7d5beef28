import {
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { InvalidArgumentError } from "@nats-io/nats-core";
import { type ServerVersion, versionAtLeast } from "../conn/index.js";
import { nanosToMillis } from "../duration/index.js";
import {
  causeText,
  ErrConsumerConfigConflict,
  ErrConsumerConfigRejected,
  ErrDLQStreamMissing,
  ErrServerUnsupported,
  ErrStreamNotFound,
  JetrouteError,
} from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import {
  checkConsumer,
  desiredConsumerConfig,
  FILTER_SUBJECTS_SINCE,
  type StreamFacts,
} from "./contract.js";
import type { DeliverFrom, StreamIdentity } from "./recovery.js";

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

/** What provisioning did to the durable consumer. */
export type ProvisionResult = "created" | "updated" | "unchanged" | "recreated";

/** The durable's limits on one pull request (0: none). */
export interface PullLimits {
  /** `max_batch`: messages per pull request. */
  readonly maxBatch: number;
  /** `max_expires` in ms: how long a pull request may wait. */
  readonly maxExpiresMs: number;
}

/** What provisioning did, and the consumer's ack floor (stream sequence) as it found it. */
export interface Provisioned {
  readonly result: ProvisionResult;
  /** Every stream sequence `<= ackFloor` is acknowledged; 0 when nothing is. */
  readonly ackFloor: number;
  readonly limits: PullLimits;
}

function pullLimits(config: Partial<ConsumerConfig>): PullLimits {
  return {
    maxBatch: config.max_batch ?? 0,
    maxExpiresMs: nanosToMillis(config.max_expires ?? 0),
  };
}

/** Where provisioning runs: the server it talks to, and where a created consumer starts. */
export interface ProvisionContext {
  readonly server: ServerVersion;
  readonly logger: Logger;
  /**
   * Applies only when the consumer has to be created: `{ startSeq }` starts it there
   * (`deliver_policy: by_start_sequence`) instead of at the stream's first message. The engine
   * recreating a consumer it was using passes what `recoveryPlan` decides.
   */
  readonly deliver?: DeliverFrom;
}

/**
 * Makes the route's durable consumer keep the route's contract (src/consumer/contract.ts):
 * creates it when missing; on an existing one, fails with ErrConsumerConfigConflict for a
 * setting the route cannot run with (or deletes and re-creates it with
 * `withOnConsumerConflict("recreate")`), and updates the engine-owned settings with the full
 * config, logging each change as `old -> new`. Several subjects need nats-server 2.10
 * (ErrServerUnsupported below). The server refusing a config is ErrConsumerConfigRejected.
 */
export async function provisionConsumer(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  ctx: ProvisionContext,
): Promise<Provisioned> {
  requireFilterSubjects(spec, ctx.server);
  try {
    const stream = await streamFacts(jsm, spec);
    const info = await consumerInfo(jsm, spec);
    if (info === undefined) {
      return await create(jsm, spec, { ...ctx, stream }, ctx.deliver ?? "all", "created");
    }
    const check = checkConsumer(info.config, spec, ctx.server, stream);
    for (const warning of check.warnings) {
      ctx.logger.warn({ stream: spec.stream, durable: spec.durable }, warning);
    }
    const [conflict, ...more] = check.conflicts;
    if (conflict !== undefined) {
      const err = new ErrConsumerConfigConflict(spec.name, spec.stream, spec.durable, [
        conflict,
        ...more,
      ]);
      if (spec.onConsumerConflict === "fail") throw err;
      ctx.logger.warn({ err, durable: spec.durable }, "re-creating the durable consumer");
      await jsm.consumers.delete(spec.stream, spec.durable);
      return await create(jsm, spec, { ...ctx, stream }, "all", "recreated");
    }
    const ackFloor = info.ack_floor.stream_seq;
    if (check.changes.length === 0) {
      return { result: "unchanged", ackFloor, limits: pullLimits(info.config) };
    }
    const updated = await jsm.consumers.update(spec.stream, spec.durable, check.update);
    ctx.logger.info(
      {
        stream: spec.stream,
        durable: spec.durable,
        changes: check.changes.map((c) => `${c.field}: ${show(c.from)} -> ${show(c.to)}`),
      },
      "consumer updated",
    );
    return { result: "updated", ackFloor, limits: pullLimits(updated.config) };
  } catch (cause) {
    throw provisionError(spec, cause);
  }
}

function show(value: unknown): string {
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

async function consumerInfo(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(spec.stream, spec.durable);
  } catch (cause) {
    if (isConsumerNotFound(cause)) return undefined;
    throw cause;
  }
}

async function streamFacts(jsm: JetStreamManager, spec: JetStreamRouteSpec): Promise<StreamFacts> {
  const { config } = await jsm.streams.info(spec.stream);
  return {
    subjects: config.subjects ?? [],
    maxAckPendingLimit: config.consumer_limits?.max_ack_pending ?? 0,
  };
}

async function create(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  ctx: ProvisionContext & { readonly stream: StreamFacts },
  deliver: DeliverFrom,
  result: "created" | "recreated",
): Promise<Provisioned> {
  const desired = desiredConsumerConfig(spec, ctx.server, ctx.stream);
  const config: Partial<ConsumerConfig> =
    deliver === "all"
      ? desired
      : {
          ...desired,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: deliver.startSeq,
        };
  const created = await jsm.consumers.add(spec.stream, config);
  ctx.logger.info(
    {
      stream: spec.stream,
      durable: spec.durable,
      ...(deliver === "all" ? {} : { startSeq: deliver.startSeq }),
    },
    result === "created" ? "consumer created" : "consumer re-created",
  );
  return { result, ackFloor: created.ack_floor.stream_seq, limits: pullLimits(created.config) };
}

/** Several subjects on one durable are `filter_subjects`, which nats-server 2.9 does not have. */
function requireFilterSubjects(spec: JetStreamRouteSpec, server: ServerVersion): void {
  if (spec.subjects.length === 1 || versionAtLeast(server, FILTER_SUBJECTS_SINCE)) return;
  throw new ErrServerUnsupported(
    `route "${spec.name}" consumes ${spec.subjects.length} subjects (${spec.subjects.join(", ")}) ` +
      `with one durable, which needs nats-server ${FILTER_SUBJECTS_SINCE.join(".")} or later ` +
      `(filter_subjects); this server is ${server.join(".")}. Use one subject with a wildcard, or one route per subject`,
  );
}

/** A provisioning failure as a jetroute error: never the client's raw API error. */
function provisionError(spec: JetStreamRouteSpec, cause: unknown): unknown {
  if (cause instanceof JetrouteError) return cause;
  if (isStreamNotFound(cause)) return streamNotFound(spec, cause);
  if (cause instanceof JetStreamApiError || cause instanceof InvalidArgumentError) {
    return new ErrConsumerConfigRejected(
      `the server refused durable "${spec.durable}" on stream "${spec.stream}" of route "${spec.name}": ${causeText(cause)}`,
      { cause },
    );
  }
  return cause;
}
