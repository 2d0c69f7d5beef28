import { AckPolicy, type ConsumerConfig, ReplayPolicy, RetentionPolicy } from "@nats-io/jetstream";
import { type ServerVersion, versionAtLeast } from "../conn/index.js";
import { millisToNanos, nanosToMillis } from "../duration/index.js";
import type { ConsumerConflict } from "../errors/index.js";
import { deliverConfig } from "../position/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { subjectCovers } from "../subject/index.js";
import { JETROUTE_VERSION } from "../version.js";
import { startWarning } from "./start.js";

/** nats-server 2.10 added `filter_subjects` and consumer `metadata`. */
export const FILTER_SUBJECTS_SINCE: ServerVersion = [2, 10, 0];

/** The consumer metadata keys jetroute stamps (2.10+): who owns the durable, and which version. */
export const ConsumerMetadata = {
  Route: "jetroute.route",
  Version: "jetroute.version",
} as const;

/**
 * The shortest durable `max_expires` the engine pulls under: its pull requests carry an idle
 * heartbeat of at most half the expiry, and a heartbeat below 500 ms is noise, not liveness.
 */
export const MIN_MAX_EXPIRES_MS = 1_000;

/** What the contract needs to know of the route's stream (`jsm.streams.info`). */
export interface StreamFacts {
  /** The stream's subjects: what a durable without a filter consumes. */
  readonly subjects: readonly string[];
  /**
   * False when messages may be stored under other subjects than `subjects` (sources, a mirror,
   * a subject transform): a route subject outside them is then not a mistake.
   */
  readonly subjectsComplete: boolean;
  readonly retention: RetentionPolicy;
  /** The stream's `consumer_limits.max_ack_pending` (2.10+); 0 when it has none. */
  readonly maxAckPendingLimit: number;
  /** The stream's `consumer_limits.inactive_threshold` in ns (2.10+); 0 when it has none. */
  readonly inactiveThresholdLimit: number;
}

const UNKNOWN_STREAM: StreamFacts = {
  subjects: [],
  subjectsComplete: false,
  retention: RetentionPolicy.Limits,
  maxAckPendingLimit: 0,
  inactiveThresholdLimit: 0,
};

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

/** The subjects a consumer config filters on; empty for "every subject of the stream". */
export function filterOf(config: Partial<ConsumerConfig>): readonly string[] {
  if (config.filter_subjects !== undefined && config.filter_subjects.length > 0) {
    return config.filter_subjects;
  }
  return config.filter_subject ? [config.filter_subject] : [];
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

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

/**
 * True when the durable's filter selects what the route consumes: the same subjects in any
 * order, or no filter when the route's subjects cover every subject the stream stores (all a
 * durable without a filter gets, as `orders.*` on a stream of `orders.a`, `orders.b`).
 */
export function filterMatches(
  current: Partial<ConsumerConfig>,
  subjects: readonly string[],
  streamSubjects: readonly string[],
): boolean {
  const filter = filterOf(current);
  if (filter.length > 0) return sameSet(filter, subjects);
  if (subjects.includes(">")) return true;
  return (
    streamSubjects.length > 0 &&
    streamSubjects.every((s) => subjects.some((r) => subjectCovers(r, s)))
  );
}

function filterConflict(
  current: Partial<ConsumerConfig>,
  subjects: readonly string[],
  server: ServerVersion,
): ConsumerConflict {
  const multi = (current.filter_subjects?.length ?? 0) > 0;
  const why = versionAtLeast(server, FILTER_SUBJECTS_SINCE)
    ? "an in-place filter update keeps the durable's position, so stored messages the old filter did not select would never be delivered"
    : "nats-server 2.9 accepts an in-place filter update but then delivers nothing of the new subject";
  return {
    field: multi ? "filter_subjects" : "filter_subject",
    current: multi
      ? current.filter_subjects
      : current.filter_subject || "none (every subject of the stream)",
    wanted: subjects.length === 1 ? subjects[0] : subjects,
    why,
  };
}

/** Settings the engine cannot run with and cannot (or must not) change in place. */
function conflictsOf(
  current: Partial<ConsumerConfig>,
  spec: JetStreamRouteSpec,
  server: ServerVersion,
  stream: StreamFacts,
): ConsumerConflict[] {
  const found: ConsumerConflict[] = [];
  if (!current.durable_name) {
    found.push({
      field: "durable_name",
      current: `none (an ephemeral consumer named "${current.name ?? spec.durable}")`,
      wanted: spec.durable,
      why: "the server deletes an ephemeral consumer once it is inactive, and the route would start over from the stream's first message",
    });
  }
  if (current.deliver_subject) {
    found.push({
      field: "deliver_subject",
      current: current.deliver_subject,
      wanted: "none (a pull consumer)",
      why: "it is a push consumer; jetroute pulls, and a push consumer cannot become a pull one",
    });
  }
  if (current.ack_policy !== undefined && current.ack_policy !== AckPolicy.Explicit) {
    found.push({
      field: "ack_policy",
      current: current.ack_policy,
      wanted: AckPolicy.Explicit,
      why:
        current.ack_policy === AckPolicy.None
          ? "with no acks a failed message is never redelivered, and ack_policy cannot be updated"
          : "one ack settles every earlier message, so a failed one is lost when a later one succeeds, and ack_policy cannot be updated",
    });
  }
  if (current.replay_policy === ReplayPolicy.Original) {
    found.push({
      field: "replay_policy",
      current: current.replay_policy,
      wanted: ReplayPolicy.Instant,
      why: "it delivers at the pace the messages were published, and replay_policy cannot be updated",
    });
  }
  if (!filterMatches(current, spec.subjects, stream.subjects)) {
    found.push(filterConflict(current, spec.subjects, server));
  }
  if ((current.priority_groups?.length ?? 0) > 0) {
    found.push({
      field: "priority_groups",
      current: current.priority_groups,
      wanted: "none",
      why: "the server refuses pull requests that name no priority group, and jetroute names none",
    });
  }
  const maxExpiresMs = nanosToMillis(current.max_expires ?? 0);
  if (maxExpiresMs > 0 && maxExpiresMs < MIN_MAX_EXPIRES_MS) {
    found.push({
      field: "max_expires",
      current: `${maxExpiresMs}ms`,
      wanted: `unset, or at least ${MIN_MAX_EXPIRES_MS}ms`,
      why: "jetroute's pull requests carry an idle heartbeat of at most half their expiry",
      fix: `raise max_expires on the durable (nats consumer edit ${spec.stream} ${spec.durable} --max-pull-expire 30s), or consume with a new durable`,
    });
  }
  return found;
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
  const warnings: string[] = [];
  if (stream.inactiveThresholdLimit > 0) {
    warnings.push(
      `the stream's consumer_limits.inactive_threshold (${nanosToMillis(stream.inactiveThresholdLimit)} ms) applies to the durable: ` +
        "the server deletes it after that long with no pull open, and it comes back from the stream's first message",
    );
  }
  const start = startWarning(current, spec);
  if (start !== undefined) warnings.push(start);
  const pausedUntil = current.pause_until ? new Date(current.pause_until) : undefined;
  if (pausedUntil !== undefined && pausedUntil > now) {
    warnings.push(
      `the durable is paused until ${pausedUntil.toISOString()}: no messages before then`,
    );
  }
  return {
    conflicts: conflictsOf(current, spec, server, stream),
    changes,
    update,
    warnings,
  };
}
