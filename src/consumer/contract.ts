import { AckPolicy, type ConsumerConfig } from "@nats-io/jetstream";
import { type ServerVersion, versionAtLeast } from "../conn/index.js";
import { millisToNanos, nanosToMillis } from "../duration/index.js";
import type { ConsumerConflict } from "../errors/index.js";
import { deliverConfig } from "../position/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { JETROUTE_VERSION } from "../version.js";
import { conflictsOf } from "./conflicts.js";
import {
  ConsumerMetadata,
  FILTER_SUBJECTS_SINCE,
  type StreamFacts,
  UNKNOWN_STREAM,
} from "./facts.js";
import { startWarning } from "./start.js";

export {
  ConsumerMetadata,
  FILTER_SUBJECTS_SINCE,
  filterOf,
  MIN_MAX_EXPIRES_MS,
  type StreamFacts,
} from "./facts.js";

/** One engine-owned consumer setting that differs from what the route needs (set by an update). */
export interface ConfigChange {
  readonly field: string;
  readonly from: unknown;
  readonly to: unknown;
}

/** A change as logged: `field: old -> new`, objects as JSON. */
export function describeChange(c: ConfigChange): string {
  const show = (v: unknown) =>
    typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  return `${c.field}: ${show(c.from)} -> ${show(c.to)}`;
}

/** What a durable's config means for a route. */
export interface ContractCheck {
  /** Settings the route cannot run with and must not change in place: the route fails. */
  readonly conflicts: readonly ConsumerConflict[];
  /** Engine-owned settings to change; empty when the durable already matches. */
  readonly changes: readonly ConfigChange[];
  /**
   * What an update sends: every engine-owned field, cleared ones explicitly (`backoff: []`,
   * `headers_only: false`), because nats.js `consumers.update` merges it onto the durable's
   * own config and a field left out keeps its value.
   */
  readonly update: Partial<ConsumerConfig>;
  /** Settings the route runs with but a user should hear about (a paused consumer). */
  readonly warnings: readonly string[];
}

function filterFields(subjects: readonly string[]): Partial<ConsumerConfig> {
  const [only, ...more] = subjects;
  return only !== undefined && more.length === 0
    ? { filter_subject: only }
    : { filter_subjects: [...subjects] };
}

/** The settings the engine owns on any durable it consumes. */
interface OwnedFields {
  readonly ack_wait: number;
  readonly max_deliver: number;
  readonly max_ack_pending: number;
  /**
   * 0: never deleted for inactivity (a durable deleted while the service is down comes back
   * from the stream's first message). A stream consumer limit (2.10+) is forced by the server.
   */
  readonly inactive_threshold: number;
  readonly metadata?: Record<string, string>;
}

/**
 * The route's `max_ack_pending`. The default is lowered to the stream's consumer limit (the
 * server refuses a consumer above it); a value the user set is sent as is, so the server's
 * refusal names the limit (ErrConsumerConfigRejected) rather than the route running on less.
 */
function maxAckPendingFor(spec: JetStreamRouteSpec, stream: StreamFacts): number {
  const limit = stream.maxAckPendingLimit;
  if (spec.maxAckPendingSet || limit <= 0) return spec.maxAckPending;
  return Math.min(spec.maxAckPending, limit);
}

function ownedFields(
  spec: JetStreamRouteSpec,
  server: ServerVersion,
  stream: StreamFacts,
): OwnedFields {
  const owned = {
    ack_wait: millisToNanos(spec.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: maxAckPendingFor(spec, stream),
    inactive_threshold: stream.inactiveThresholdLimit,
  };
  if (!versionAtLeast(server, FILTER_SUBJECTS_SINCE)) return owned;
  const metadata = {
    [ConsumerMetadata.Route]: spec.name,
    [ConsumerMetadata.Version]: JETROUTE_VERSION,
  };
  return { ...owned, metadata };
}

/**
 * The durable consumer a route creates.
 *
 * - `max_deliver` is -1: the engine counts deliveries itself and dead-letters at the route's
 *   `maxDeliver`. A server-side cap would silently strand a message whose dead-letter publish
 *   failed on its last delivery; with no cap it comes back and the dead letter is tried again.
 * - `max_ack_pending` is the route's `maxAckPending`: a cap over every process on the durable
 *   (the default within the stream's consumer limit).
 * - No `backoff` list: it applies only to ack timeouts and forces `ack_wait` to its first
 *   entry (2.10+); retry delays are computed by the engine and sent with `nak(delay)`.
 * - Several subjects go in `filter_subjects` (2.10+); metadata is stamped on 2.10+.
 * - It starts at the route's `startAt` (withStartAt; a duration back is resolved at `now`).
 */
export function desiredConsumerConfig(
  spec: JetStreamRouteSpec,
  server: ServerVersion,
  stream: StreamFacts = UNKNOWN_STREAM,
  now: Date = new Date(),
): Partial<ConsumerConfig> {
  return {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    ...deliverConfig(spec.startAt, now),
    ...filterFields(spec.subjects),
    ...ownedFields(spec, server, stream),
  };
}

/** Engine-owned settings that differ from what the route needs. */
function changesOf(current: Partial<ConsumerConfig>, desired: OwnedFields): ConfigChange[] {
  const changes: ConfigChange[] = [];
  for (const field of ["ack_wait", "max_deliver", "max_ack_pending"] as const) {
    if (current[field] !== desired[field]) {
      changes.push({ field, from: current[field], to: desired[field] });
    }
  }
  const inactive = current.inactive_threshold ?? 0;
  if (inactive !== desired.inactive_threshold) {
    changes.push({ field: "inactive_threshold", from: inactive, to: desired.inactive_threshold });
  }
  if ((current.backoff?.length ?? 0) > 0) {
    changes.push({ field: "backoff", from: current.backoff, to: undefined });
  }
  if (current.headers_only === true) {
    changes.push({ field: "headers_only", from: true, to: false });
  }
  for (const [key, value] of Object.entries(desired.metadata ?? {})) {
    const was = current.metadata?.[key];
    if (was !== value) changes.push({ field: `metadata.${key}`, from: was, to: value });
  }
  return changes;
}

/**
 * Checks an existing durable against the route: what conflicts (the route must not start),
 * what the engine sets, and what to warn about.
 */
export function checkConsumer(
  current: Partial<ConsumerConfig>,
  spec: JetStreamRouteSpec,
  server: ServerVersion,
  stream: StreamFacts,
  now: Date = new Date(),
): ContractCheck {
  const desired = ownedFields(spec, server, stream);
  const changes = changesOf(current, desired);
  const update: Partial<ConsumerConfig> = {
    ack_wait: desired.ack_wait,
    max_deliver: desired.max_deliver,
    max_ack_pending: desired.max_ack_pending,
    inactive_threshold: desired.inactive_threshold,
    ...((current.backoff?.length ?? 0) > 0 ? { backoff: [] } : {}),
    ...(current.headers_only === true ? { headers_only: false } : {}),
    ...(desired.metadata === undefined
      ? {}
      : { metadata: { ...current.metadata, ...desired.metadata } }),
  };
  const conflicts = conflictsOf(current, spec, server, stream);
  const warnings: string[] = [];
  if (stream.inactiveThresholdLimit > 0) {
    warnings.push(
      `the stream's consumer_limits.inactive_threshold (${nanosToMillis(stream.inactiveThresholdLimit)} ms) applies to the durable: ` +
        "the server deletes it after that long with no pull open, and it comes back from the stream's first message",
    );
  }
  // With a conflict the durable is re-created (at the route's start) or the route fails:
  // either way "it keeps its position" would be wrong.
  const start = conflicts.length === 0 ? startWarning(current, spec) : undefined;
  if (start !== undefined) warnings.push(start);
  const pausedUntil = current.pause_until ? new Date(current.pause_until) : undefined;
  if (pausedUntil !== undefined && pausedUntil > now) {
    warnings.push(
      `the durable is paused until ${pausedUntil.toISOString()}: no messages before then`,
    );
  }
  return {
    conflicts,
    changes,
    update,
    warnings,
  };
}
