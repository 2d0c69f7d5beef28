import {
  JetStreamApiError,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
  type StreamUpdateConfig,
} from "@nats-io/jetstream";
import type { Connection } from "../conn/types.js";
import { millisToNanos, nanosToMillis } from "../duration/index.js";
import {
  causeText,
  ErrConnectionClosed,
  ErrNoResponders,
  ErrRequestTimeout,
  ErrStreamConfigRejected,
  ErrSubjectOverlap,
  JetrouteError,
} from "../errors/index.js";
import { componentLogger, type Logger } from "../logger/index.js";
import { classifyFailure } from "../producer/classify.js";
import {
  resolveStreamSpec,
  type StreamOption,
  type StreamSpec,
  validateStreamName,
} from "./options.js";
import { findOverlaps, planSubjects, type StreamSubjects, type SubjectPlan } from "./overlap.js";

// JetStream API error codes this module reacts to (see NATS-NOTES.md).
const OVERLAP = 10065;
const NAME_IN_USE = 10058;
const NOT_FOUND = 10059;

/** One field that differs between the stream and the request: what `ensureStream` logs. */
type Changes = Record<string, { from: unknown; to: unknown }>;

/**
 * Creates the stream, or updates it to match, or does nothing when it already matches. Safe to
 * call on every start of every instance.
 *
 * - Subjects are only ever added: the stream keeps capturing what it captured (existing ∪
 *   requested). A requested subject the stream's own subjects already cover (`orders.created`
 *   or `orders.*` under `orders.>`) is nothing to do (logged at debug); a requested wider one
 *   (`orders.>` on a stream with `orders.*`) replaces the subjects it covers. One that only
 *   partly overlaps a subject of the stream (`orders.eu.*` beside `orders.*.created`) throws
 *   ErrSubjectOverlap naming the stream itself, before anything is sent.
 * - Only the fields given as options are compared; the rest keep their current values.
 * - Requested subjects captured by another stream throw ErrSubjectOverlap naming that stream
 *   (or are skipped with `withSkipCoveredSubjects()`).
 * - Bad names, subjects or values throw ErrInvalidStreamName / ErrInvalidSubject /
 *   ErrInvalidOption / ErrInvalidDuration before anything is sent. A configuration the server
 *   refuses (a storage change, R3 on a single server, ...) throws ErrStreamConfigRejected with the
 *   server's error as `cause`.
 * @example
 * const info = await ensureStream(conn, "ORDERS",
 *   withSubjects("orders.>"), withMaxAge("24h"), withDuplicateWindow("2m"));
 */
export async function ensureStream(
  conn: Connection,
  name: string,
  ...options: StreamOption[]
): Promise<StreamInfo> {
  const spec = resolveStreamSpec(name, options);
  const log = componentLogger(conn.logger, "stream", { stream: spec.name });
  const jsm = await manager(conn, spec.name);
  try {
    return await ensureOnce(jsm, spec, log);
  } catch (err) {
    // Another instance created, deleted or changed the stream between our read and our write:
    // one fresh read decides again. A second race is reported, not retried forever.
    if (!isRace(err, spec)) throw await mapError(jsm, spec, err);
    log.debug({ err }, "stream changed concurrently; retrying once");
    try {
      return await ensureOnce(jsm, spec, log);
    } catch (again) {
      throw await mapError(jsm, spec, again);
    }
  }
}

/**
 * Deletes the stream and every message in it. Resolves false when there was no such stream.
 * @example await deleteStream(conn, "ORDERS");
 */
export async function deleteStream(conn: Connection, name: string): Promise<boolean> {
  validateStreamName(name);
  const jsm = await manager(conn, name);
  try {
    return await jsm.streams.delete(name);
  } catch (err) {
    if (apiCode(err) === NOT_FOUND) return false;
    throw clientFailure(name, err);
  }
}

/**
 * True when the stream exists.
 * @example if (!(await streamExists(conn, "ORDERS"))) { ... }
 */
export async function streamExists(conn: Connection, name: string): Promise<boolean> {
  validateStreamName(name);
  const jsm = await manager(conn, name);
  try {
    return (await readInfo(jsm, name)) !== undefined;
  } catch (err) {
    throw clientFailure(name, err);
  }
}

async function manager(conn: Connection, stream: string): Promise<JetStreamManager> {
  try {
    return await conn.jetstreamManager();
  } catch (err) {
    throw clientFailure(stream, err);
  }
}

/**
 * A failure of the client or the server's reachability, not of the stream's config, as a typed
 * error: closed connection, timeout, no JetStream answering. Others are returned as they are.
 */
function clientFailure(stream: string, err: unknown): unknown {
  if (err instanceof JetrouteError) return err;
  const what = `stream "${stream}"`;
  switch (classifyFailure(err)) {
    case "closed":
      return new ErrConnectionClosed(`${what}: the connection is closed`, { cause: err });
    case "timeout":
      return new ErrRequestTimeout(`${what}: JetStream did not answer in time`, { cause: err });
    case "noResponders":
      return new ErrNoResponders(`${what}: JetStream is not enabled or not reachable`, {
        cause: err,
      });
    default:
      return err;
  }
}

async function ensureOnce(
  jsm: JetStreamManager,
  spec: StreamSpec,
  log: Logger,
): Promise<StreamInfo> {
  const current = await readInfo(jsm, spec.name);
  const own = current?.config.subjects ?? [];
  const plan = await fitSubjects(jsm, spec, log, own);

  if (!current) {
    const config = createConfig(spec, plan.subjects);
    const info = await jsm.streams.add(config);
    log.info({ config }, "stream created");
    return info;
  }

  const { update, changes } = diff(current.config, spec, plan);
  if (Object.keys(changes).length === 0) {
    log.debug({}, "stream unchanged");
    return current;
  }
  const info = await jsm.streams.update(spec.name, update);
  log.info({ changes }, "stream updated");
  return info;
}

/**
 * The stream's subjects once the requested ones are in: those it already captures with its own
 * subjects (`s.x` under `s.>`) are nothing to do, a wider one replaces the subjects it covers,
 * one that only partly overlaps a subject of the stream throws ErrSubjectOverlap naming the
 * stream itself (the server would refuse the update), and those another stream captures throw
 * ErrSubjectOverlap (or are skipped with `withSkipCoveredSubjects()`).
 */
async function fitSubjects(
  jsm: JetStreamManager,
  spec: StreamSpec,
  log: Logger,
  own: readonly string[],
): Promise<SubjectPlan> {
  const plan = planSubjects(own, spec.subjects);
  if (plan.covered.length > 0) {
    log.debug({ covered: plan.covered }, "requested subjects already covered");
  }
  if (plan.conflicts.length > 0) {
    throw new ErrSubjectOverlap(
      spec.name,
      spec.name,
      plan.conflicts.map((c) => c.subject),
    );
  }
  const wanted = await withoutCovered(jsm, spec, log, plan.added);
  return wanted.length === plan.added.length ? plan : planSubjects(own, wanted);
}

/** The requested new subjects minus those another stream captures (or ErrSubjectOverlap). */
async function withoutCovered(
  jsm: JetStreamManager,
  spec: StreamSpec,
  log: Logger,
  requested: readonly string[],
): Promise<string[]> {
  if (requested.length === 0) return [];
  const overlaps = findOverlaps(spec.name, requested, await listSubjects(jsm));
  const [first] = overlaps;
  if (!first) return [...requested];
  if (!spec.skipCoveredSubjects)
    throw new ErrSubjectOverlap(spec.name, first.stream, first.subjects);
  const covered = new Set(overlaps.flatMap((o) => o.subjects));
  for (const o of overlaps) {
    log.warn(
      { otherStream: o.stream, subjects: o.subjects },
      "subjects owned by another stream skipped",
    );
  }
  return requested.filter((s) => !covered.has(s));
}

async function listSubjects(jsm: JetStreamManager): Promise<StreamSubjects[]> {
  const streams: StreamSubjects[] = [];
  for await (const si of jsm.streams.list()) {
    streams.push({ name: si.config.name, subjects: si.config.subjects ?? [] });
  }
  return streams;
}

async function readInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (apiCode(err) === NOT_FOUND) return undefined;
    throw err;
  }
}

function createConfig(
  spec: StreamSpec,
  subjects: readonly string[],
): Partial<StreamConfig> & { name: string } {
  if (spec.subjects.length > 0 && subjects.length === 0) {
    // Every requested subject is covered elsewhere. Creating anyway would silently give the
    // stream the server's default subject (its own name), which nobody asked for.
    throw new ErrSubjectOverlap(spec.name, "(other streams)", spec.subjects);
  }
  const config: Partial<StreamConfig> & { name: string } = { name: spec.name };
  if (subjects.length > 0) config.subjects = [...subjects];
  Object.assign(config, managedFields(spec));
  return config;
}

/** The fields the caller asked for, in the server's shape; absent ones are left to the server. */
function managedFields(spec: StreamSpec): Partial<StreamConfig> {
  const f: Partial<StreamConfig> = {};
  if (spec.retention !== undefined) f.retention = spec.retention;
  if (spec.storage !== undefined) f.storage = spec.storage;
  if (spec.replicas !== undefined) f.num_replicas = spec.replicas;
  if (spec.maxAgeMs !== undefined) f.max_age = millisToNanos(spec.maxAgeMs);
  if (spec.maxBytes !== undefined) f.max_bytes = spec.maxBytes;
  if (spec.maxMsgs !== undefined) f.max_msgs = spec.maxMsgs;
  if (spec.duplicateWindowMs !== undefined)
    f.duplicate_window = millisToNanos(spec.duplicateWindowMs);
  if (spec.discard !== undefined) f.discard = spec.discard;
  if (spec.maxMsgSize !== undefined) f.max_msg_size = spec.maxMsgSize;
  return f;
}

/** What to send to `streams.update` (nats.js merges it onto the current config) and why. */
function diff(
  current: StreamConfig,
  spec: StreamSpec,
  plan: SubjectPlan,
): { update: Partial<StreamUpdateConfig>; changes: Changes } {
  const update: Partial<StreamConfig> = {};
  const changes: Changes = {};
  if (plan.added.length > 0) {
    update.subjects = [...plan.subjects];
    changes.subjects = { from: current.subjects ?? [], to: update.subjects };
  }
  const wanted = managedFields(spec);
  for (const key of Object.keys(wanted) as (keyof StreamConfig)[]) {
    const to = wanted[key];
    const from = current[key];
    if (sameValue(key, from, to)) continue;
    (update as Record<string, unknown>)[key] = to;
    changes[key] = { from, to };
  }
  return { update: update as Partial<StreamUpdateConfig>, changes };
}

function sameValue(key: keyof StreamConfig, from: unknown, to: unknown): boolean {
  // The server stores durations in nanoseconds and may round; compare at our resolution.
  if ((key === "max_age" || key === "duplicate_window") && typeof from === "number") {
    return nanosToMillis(from) === nanosToMillis(to as number);
  }
  return from === to;
}

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

function isRace(err: unknown, spec: StreamSpec): boolean {
  const code = apiCode(err);
  // With skipping on, an overlap that appeared since our listing is skipped on the retry.
  return (
    code === NAME_IN_USE || code === NOT_FOUND || (code === OVERLAP && spec.skipCoveredSubjects)
  );
}

/** NATS errors to jetroute's; a server-side overlap is re-listed to name the other stream. */
async function mapError(jsm: JetStreamManager, spec: StreamSpec, err: unknown): Promise<unknown> {
  if (err instanceof JetrouteError) return err;
  const code = apiCode(err);
  if (code === undefined) return clientFailure(spec.name, err);
  if (code === OVERLAP) {
    const overlaps = await listSubjects(jsm).then(
      (streams) => findOverlaps(spec.name, spec.subjects, streams),
      () => [],
    );
    const other = overlaps[0];
    return new ErrSubjectOverlap(
      spec.name,
      other?.stream ?? "(unknown stream)",
      other?.subjects ?? spec.subjects,
      { cause: err },
    );
  }
  return new ErrStreamConfigRejected(
    `stream "${spec.name}" was refused by the server: ${causeText(err)}`,
    { cause: err },
  );
}
