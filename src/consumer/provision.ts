import {
  type ConsumerConfig,
  type ConsumerInfo,
  JetStreamApiError,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { InvalidArgumentError } from "@nats-io/nats-core";
import { type ServerVersion, versionAtLeast } from "../conn/index.js";
import { nanosToMillis } from "../duration/index.js";
import {
  causeText,
  ErrConsumerConfigRejected,
  ErrServerUnsupported,
  JetrouteError,
} from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { desiredConsumerConfig, FILTER_SUBJECTS_SINCE, type StreamFacts } from "./contract.js";
import { reconcile } from "./reconcile.js";
import type { DeliverFrom } from "./recovery.js";
import { requireStartAllowed, startFields, startLog } from "./start.js";
import {
  isConsumerNotFound,
  isStreamNotFound,
  requireStoredSubjects,
  streamFacts,
  streamNotFound,
} from "./stream-checks.js";

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
  /** The durable as provisioning left it. */
  readonly info: ConsumerInfo;
  readonly limits: PullLimits;
  /** The stream as provisioning read it (for the audits while the route runs). */
  readonly stream: StreamFacts;
}

export function pullLimits(config: Partial<ConsumerConfig>): PullLimits {
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
   * recreating a consumer it was using passes what `recoveryPlan` decides, and only then: a
   * conflict found while recovering always fails the route (withOnConsumerConflict applies at
   * start), or two instances of different versions would re-create the durable in turn.
   */
  readonly deliver?: DeliverFrom;
  /** Told the durable as provisioning left it (the engine keeps it to recognise a rewind). */
  readonly seen?: (info: ConsumerInfo) => void;
}

/** A create lost to another instance creating the same durable is retried this often. */
const CREATE_RACES = 3;

/**
 * Makes the route's durable consumer keep the route's contract (src/consumer/contract.ts):
 * creates it when missing; an existing one is reconciled (reconcile.ts): owned settings
 * updated, conflicts reported (ErrConsumerConfigConflict) or, at start with
 * `withOnConsumerConflict("recreate")`, the durable re-created. A create refused because another
 * instance created the durable first reads it again and reconciles that one. Throws
 * ErrServerUnsupported for several subjects below 2.10, ErrInvalidSubject for a subject the
 * stream does not store, ErrStreamNotFound, and ErrConsumerConfigRejected for any other JetStream
 * API refusal, never the client's raw API error. Transport failures (a timeout, a permission
 * violation on the API subject) pass through as the cause of ErrRouteFailed.
 */
export async function provisionConsumer(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  ctx: ProvisionContext,
): Promise<Provisioned> {
  requireFilterSubjects(spec, ctx.server);
  try {
    const stream = await streamFacts(jsm, spec);
    requireStoredSubjects(spec, stream);
    requireStartAllowed(spec, stream);
    for (let attempt = 1; ; attempt++) {
      const info = await consumerInfo(jsm, spec);
      const lastTry = attempt === CREATE_RACES;
      const done =
        info === undefined
          ? await create(jsm, spec, ctx, stream, ctx.deliver ?? "start", lastTry)
          : await reconcile(jsm, spec, info, { ...ctx, stream, lastTry });
      if (done !== undefined) {
        ctx.seen?.(done.info);
        return done;
      }
    }
  } catch (cause) {
    throw provisionError(spec, cause);
  }
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

/**
 * Creates the durable; undefined when the create was refused because the durable exists now
 * (another instance won the race: 10148 on 2.10+, an update refusal on 2.9), to be read again.
 */
export async function create(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  ctx: ProvisionContext,
  stream: StreamFacts,
  deliver: DeliverFrom,
  lastTry: boolean,
  result: "created" | "recreated" = "created",
): Promise<Provisioned | undefined> {
  const desired = desiredConsumerConfig(spec, ctx.server, stream);
  const config: Partial<ConsumerConfig> = { ...desired, ...startFields(deliver) };
  let created: ConsumerInfo;
  try {
    created = await jsm.consumers.add(spec.stream, config);
  } catch (cause) {
    if (!lastTry && (await consumerInfo(jsm, spec)) !== undefined) return undefined;
    throw cause;
  }
  const lowered = desired.max_ack_pending !== spec.maxAckPending;
  ctx.logger.info(
    {
      stream: spec.stream,
      durable: spec.durable,
      ...startLog(spec, deliver),
      ...(lowered
        ? { maxAckPending: `${desired.max_ack_pending} (the stream's consumer limit)` }
        : {}),
    },
    result === "created" ? "consumer created" : "consumer re-created",
  );
  const ackFloor = created.ack_floor.stream_seq;
  return { result, ackFloor, info: created, limits: pullLimits(created.config), stream };
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
      `the server refused durable "${spec.durable}" on stream "${spec.stream}" of route "${spec.name}": ${causeText(cause)}${hintFor(cause)}`,
      { cause },
    );
  }
  return cause;
}

/** What to do about the server refusals users meet most. */
function hintFor(cause: unknown): string {
  const text = causeText(cause);
  if (/max ack pending exceeds/i.test(text)) {
    return "; lower withMaxAckPending to the stream's consumer_limits.max_ack_pending, or leave it out (the default fits the limit)";
  }
  if (/not unique on workqueue stream/i.test(text)) {
    return "; a work-queue stream allows one consumer per subject: drain and delete the old durable first, or keep its name";
  }
  if (/name is too long|too long/i.test(text)) {
    return "; use a shorter withDurable name";
  }
  return "";
}
