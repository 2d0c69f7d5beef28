import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { ServerVersion } from "../conn/index.js";
import { ErrorCode, isJetrouteError } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { type AuditContext, auditConsumer } from "./audit.js";
import { type PullLimits, provisionConsumer } from "./provision.js";
import type { RecoveryPlan } from "./recovery.js";
import type { ReplayGuard } from "./replay-guard.js";
import { type DurableIdentity, rewindGuard } from "./rewind.js";
import type { StatsCounter } from "./stats.js";
import { isConsumerNotFound, isStreamNotFound } from "./stream-checks.js";

/** Consumer-info requests before releasing held messages at shutdown; see `forgetDeadPulls`. */
const RELEASE_INFO_ATTEMPTS = 5;

/** What a consumer-info probe found. */
export type ConsumerPresence = "present" | "consumer-gone" | "stream-gone" | "unknown";

/** Asks the server whether the route's durable (and stream) still exist. */
export async function probeConsumer(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
): Promise<ConsumerPresence> {
  try {
    await jsm.consumers.info(spec.stream, spec.durable);
    return "present";
  } catch (err) {
    if (isStreamNotFound(err)) return "stream-gone";
    if (isConsumerNotFound(err)) return "consumer-gone";
    return "unknown";
  }
}

/**
 * Before naking released messages at shutdown, makes the server forget this process's dead
 * pull requests: nats-server 2.9 steps its cursor back when a nak'd message meets only dead
 * waiting requests (docs/internals.md, "the 2.9 release bug"). A consumer-info request makes the
 * server drop waiting requests without interest; it is asked until `num_waiting` is 0 (other
 * instances' live requests keep it above 0, and then the bug cannot happen).
 */
export async function forgetDeadPulls(
  jsm: JetStreamManager,
  nc: NatsConnection,
  spec: JetStreamRouteSpec,
  log: Logger,
): Promise<void> {
  for (let attempt = 0; attempt < RELEASE_INFO_ATTEMPTS; attempt++) {
    if (nc.isClosed()) return;
    try {
      const info = await jsm.consumers.info(spec.stream, spec.durable);
      if (info.num_waiting === 0) return;
    } catch (err) {
      log.debug({ err }, "consumer info before release failed");
      return;
    }
    await sleep(20);
  }
}

/** What recreating a consumer needs besides the route. */
export interface RecreateContext {
  readonly stats: StatsCounter;
  readonly logger: Logger;
  readonly server: ServerVersion;
  readonly signal: AbortSignal;
}

/** Failures that retrying cannot mend: the route fails with them. */
const FATAL = [
  ErrorCode.StreamNotFound,
  ErrorCode.ConsumerConfigConflict,
  ErrorCode.ConsumerConfigRejected,
  ErrorCode.ServerUnsupported,
  ErrorCode.InvalidSubject,
] as const;

/**
 * Re-provisions a lost consumer, retrying transient failures until `signal` aborts. `plan()`
 * reads the stream and says where the new consumer starts (`recoveryPlan`: after the last ack
 * floor on a limits stream, `all` on work-queue and interest streams and on a stream created
 * again), or undefined when the route must stop. On a limits stream nothing unsettled is
 * skipped (everything at or below a past floor was acked for good); what this engine settled
 * above it is acked again without running its handler (the replay guard); what another
 * instance settled there runs again (at-least-once). Resolves with the durable's pull limits
 * (undefined if stopped first); rejects with ErrStreamNotFound when the stream is gone, and with
 * the contract's errors (ErrConsumerConfigConflict...) when someone else re-created the durable
 * with settings the route cannot run with.
 */
export async function recreateConsumer(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  plan: () => Promise<RecoveryPlan | undefined>,
  ctx: RecreateContext,
): Promise<PullLimits | undefined> {
  const { stats, logger: log, signal } = ctx;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const recovery = await plan();
      if (recovery === undefined) return undefined;
      const { deliver } = recovery;
      const { result, limits } = await provisionConsumer(jsm, spec, { ...ctx, deliver });
      if (result === "created") {
        stats.consumerRecreated++;
        log.warn({ durable: spec.durable, deliver }, "consumer recreated");
      } else {
        // Another instance on the durable recreated it first, or it was never gone.
        log.debug({ durable: spec.durable, result }, "consumer found intact");
      }
      return limits;
    } catch (err) {
      if (FATAL.some((code) => isJetrouteError(err, code))) throw err;
      log.warn({ err, attempt }, "could not recreate consumer; retrying");
      await sleep(Math.min(250 * attempt, 5_000), undefined, { signal }).catch(() => {});
    }
  }
  return undefined;
}

/** What the ack-floor refresh reads into and reports to. */
export interface FloorRefresh {
  readonly guard: ReplayGuard;
  /**
   * Grows with every delivery and settlement: no read while it stands still (an idle route
   * costs nothing), one when messages only fail (the audit must see a cap put on then).
   */
  readonly activity: () => number;
  /** Called when the floor fell below the guard's (the stream may have been created again). */
  readonly fell: () => Promise<unknown>;
  /** Each read is also audited against the contract (audit.ts). */
  readonly audit: AuditContext;
  /** The durable as last seen: a floor that went back is a rewind only when it says so. */
  readonly identity: DurableIdentity;
  /** Fails the route (a conflict found by the audit). */
  readonly fail: (err: unknown) => void;
  readonly log: Logger;
}

/**
 * How often, while messages are being settled, the engine reads the consumer's ack floor. A lost
 * consumer is recreated from the last floor seen, so this bounds what is redelivered after a
 * deletion. One consumer-info request per route per interval, none while the route is idle.
 */
export const FLOOR_REFRESH_MS = 2_000;

/**
 * Reads the ack floor into `guard` every {@link FLOOR_REFRESH_MS} when `settled()` moved since
 * the last read. A floor below the guard's means the consumer (maybe its stream) was made anew
 * by someone else: `fell()` checks the stream first. Returns the function that stops it (and
 * waits for a read under way).
 */
export function startFloorRefresh(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  refresh: FloorRefresh,
): () => Promise<void> {
  const { guard, activity, fell, log } = refresh;
  let seen = activity();
  let reading: Promise<void> | undefined;
  const timer = setInterval(() => {
    const now = activity();
    if (reading !== undefined || now === seen) return;
    seen = now;
    reading = jsm.consumers
      .info(spec.stream, spec.durable)
      .then(async (info) => {
        const floor = info.ack_floor.stream_seq;
        if (floor < guard.floor) {
          await fell();
        }
        if (refresh.identity.observe(info, guard.floor)) rewindGuard(guard, floor, log);
        guard.raiseFloor(floor);
        const conflict = await auditConsumer(jsm, spec, info, refresh.audit);
        if (conflict !== undefined) refresh.fail(conflict);
      })
      .catch((err: unknown) => {
        // A missing consumer is the engine's business (the pull tells it); retried next tick.
        if (!isConsumerNotFound(err)) log.debug({ err }, "could not read the ack floor");
      })
      .finally(() => {
        reading = undefined;
      });
  }, FLOOR_REFRESH_MS);
  return async () => {
    clearInterval(timer);
    await reading;
  };
}
