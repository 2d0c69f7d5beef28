import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { millisToNanos, nanosToMillis } from "../duration/index.js";
import { causeText, ErrDLQStreamMissing, ErrStreamNotFound } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
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

/**
 * The durable consumer a route needs.
 *
 * - `max_deliver` is -1: the engine counts deliveries itself and dead-letters at the route's
 *   `maxDeliver`. A server-side cap would silently strand a message whose dead-letter publish
 *   failed on its last delivery (the nak would never be redelivered); with no cap it comes back
 *   and the dead letter is tried again, so nothing is lost.
 * - `max_ack_pending` is the route's `maxAckPending`: a cap over every process on the durable,
 *   not the bound of one process. One process holds at most `concurrency + prefetch` by
 *   itself (it takes a message from nats.js only with a worker free, and nats.js pulls only as
 *   messages are taken); a cap of `concurrency + prefetch` would let two instances of a
 *   service share one instance's worth of messages, and a third add nothing. One exception to
 *   the per-process bound: after missed heartbeats or a reconnect nats.js pulls a full batch
 *   again while the earlier pull may still be open, so up to `prefetch` more can arrive once;
 *   a route that must never exceed it in one process can set `withMaxAckPending` to it.
 * - No `backoff` list: it only applies to ack timeouts and forces `ack_wait` to its first entry;
 *   retry delays are computed by the engine and sent with `nak(delay)`.
 */
export function desiredConsumerConfig(spec: JetStreamRouteSpec): Partial<ConsumerConfig> {
  return {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: spec.subject,
    ack_wait: millisToNanos(spec.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: spec.maxAckPending,
  };
}

/** One consumer setting that differs from what the route asks for. */
export interface ConfigChange {
  readonly field: "filter_subject" | "ack_wait" | "max_deliver" | "max_ack_pending";
  readonly from: unknown;
  readonly to: unknown;
}

const COMPARED = ["filter_subject", "ack_wait", "max_deliver", "max_ack_pending"] as const;

/** The settings of an existing consumer that must change to match the route. */
export function consumerChanges(
  current: Partial<ConsumerConfig>,
  desired: Partial<ConsumerConfig>,
): ConfigChange[] {
  const changes: ConfigChange[] = [];
  for (const field of COMPARED) {
    // The server omits an empty filter; treat missing and "" alike.
    const from = current[field] ?? (field === "filter_subject" ? "" : undefined);
    const to = desired[field];
    if (from !== to) changes.push({ field, from, to });
  }
  return changes;
}

/** What provisioning did to the durable consumer. */
export type ProvisionResult = "created" | "updated" | "unchanged";

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

/**
 * Makes the route's durable consumer match the route: reads its info, adds it when missing,
 * and updates it explicitly when it differs (`consumers.add` with a changed config fails on
 * 2.10+), logging each changed field as `old -> new`.
 *
 * `deliver` applies only when the consumer has to be created: `{ startSeq }` starts it there
 * (`deliver_policy: by_start_sequence`, which only limits streams accept) instead of at the
 * stream's first message. The engine recreating a consumer it was using passes what
 * `recoveryPlan` decides (after the last ack floor on a limits stream).
 */
export async function provisionConsumer(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  logger: Logger,
  deliver: DeliverFrom = "all",
): Promise<Provisioned> {
  const desired = desiredConsumerConfig(spec);
  let info: ConsumerInfo | undefined;
  try {
    info = await jsm.consumers.info(spec.stream, spec.durable);
  } catch (cause) {
    if (isStreamNotFound(cause)) throw streamNotFound(spec, cause);
    if (!isConsumerNotFound(cause)) throw cause;
  }
  try {
    if (info === undefined) {
      const config: Partial<ConsumerConfig> =
        deliver === "all"
          ? desired
          : {
              ...desired,
              deliver_policy: DeliverPolicy.StartSequence,
              opt_start_seq: deliver.startSeq,
            };
      const created = await jsm.consumers.add(spec.stream, config);
      logger.info(
        {
          stream: spec.stream,
          durable: spec.durable,
          ...(deliver === "all" ? {} : { startSeq: deliver.startSeq }),
        },
        "consumer created",
      );
      return {
        result: "created",
        ackFloor: created.ack_floor.stream_seq,
        limits: pullLimits(created.config),
      };
    }
    const ackFloor = info.ack_floor.stream_seq;
    const limits = pullLimits(info.config);
    const changes = consumerChanges(info.config, desired);
    if (changes.length === 0) return { result: "unchanged", ackFloor, limits };
    const {
      durable_name: _name,
      ack_policy: _ack,
      deliver_policy: _deliver,
      ...updatable
    } = desired;
    await jsm.consumers.update(spec.stream, spec.durable, updatable);
    logger.info(
      {
        stream: spec.stream,
        durable: spec.durable,
        changes: changes.map((c) => `${c.field}: ${String(c.from)} -> ${String(c.to)}`),
      },
      "consumer updated",
    );
    return { result: "updated", ackFloor, limits };
  } catch (cause) {
    if (isStreamNotFound(cause)) throw streamNotFound(spec, cause);
    throw cause;
  }
}
