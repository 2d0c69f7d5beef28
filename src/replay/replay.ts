import { setMaxListeners } from "node:events";
import {
  type Consumer,
  type ConsumerMessages,
  JetStreamApiError,
  type JetStreamManager,
  type JsMsg,
  type OrderedConsumerOptions,
  RetentionPolicy,
  type StreamInfo,
} from "@nats-io/jetstream";
import { ClosedConnectionError } from "@nats-io/nats-core";
import { type Connection, versionAtLeast } from "../conn/index.js";
import {
  FILTER_SUBJECTS_SINCE,
  factsOf,
  REPLAY_DURABLE_SUFFIX,
  redrivenForOther,
  requireStoredSubjects,
} from "../consumer/index.js";
import { isStreamNotFound } from "../consumer/stream-checks.js";
import {
  causeText,
  ErrConnectionClosed,
  ErrConsumerConfigRejected,
  ErrServerUnsupported,
  ErrShutdownTimeout,
  ErrStreamNotFound,
  JetrouteError,
} from "../errors/index.js";
import { deliverConfig, resolveTime } from "../position/index.js";
import type { Route } from "../router/route.js";
import { handlerRuntime } from "../runtime/index.js";
import { attempt, type HandleDeps, handleReplayed, settleReplayed } from "./handle.js";
import { type ReplayPlan, replayPlan } from "./options.js";
import { ReplayCounts } from "./progress.js";
import { firstSeqAtOrAfter, requireRetention, streamInfo } from "./stream.js";
import type { ReplayOptions, ReplaySummary } from "./types.js";
import { watchStream } from "./watch.js";

/** Messages the ordered consumer pulls ahead of the handler. */
const REPLAY_BATCH = 500;
/**
 * Each pull's expiry; its idle heartbeat is half of it. A deleted stream is noticed after two
 * missed heartbeats (the ordered consumer then fails to recreate itself), so shorter than
 * nats.js's 30 s default; a handler running longer than two heartbeats only makes the ordered
 * consumer recreate itself past what it already received (no gap, no duplicate).
 */
const PULL_EXPIRES_MS = 10_000;

/**
 * Reads a range of the route's stream again and runs every message of the route's subjects
 * through the route's middleware, handler and settlement table (retries in process, dead
 * letters to the route's DLQ), then resolves with what happened. It reads with an ephemeral
 * ordered consumer of its own: the route's durable is never touched (its pending and ack
 * pending counts stay as they are), and the route may be running meanwhile.
 *
 * Rejects, before reading anything, with ErrOptionNotSupported for a core route,
 * ErrInvalidOption for a bad option, ErrStreamNotFound, ErrRetentionUnsupported for a
 * work-queue stream, ErrServerUnsupported for several subjects below nats-server 2.10; while
 * reading, with ErrStreamNotFound (the stream was deleted) or ErrConnectionClosed. An abort
 * through `signal` resolves with the partial summary (`aborted: true`).
 * @example
 * const s = await replay(conn, chargeRoute, { from: "2026-11-30T08:00:00Z", to: "end" });
 * console.log(`${s.handled} handled, ${s.deadLettered} dead-lettered of ${s.delivered}`);
 */
export async function replay(
  conn: Connection,
  route: Route,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const plan = replayPlan(conn, route, options);
  try {
    return await run(conn, plan);
  } catch (err) {
    throw replayError(conn, plan, err);
  }
}

/** A failure while replaying as a jetroute error: a closed connection is ErrConnectionClosed. */
function replayError(conn: Connection, plan: ReplayPlan, err: unknown): unknown {
  if (err instanceof JetrouteError) return err;
  if (err instanceof ClosedConnectionError || conn.nats.isClosed()) {
    return new ErrConnectionClosed(
      `connection closed during the replay of route "${plan.spec.name}"`,
      { cause: err },
    );
  }
  return err;
}

async function run(conn: Connection, plan: ReplayPlan): Promise<ReplaySummary> {
  const { spec, signal } = plan;
  const log = plan.logger.child({ route: spec.name, replay: true });
  const counts = new ReplayCounts(plan.onProgress, log);
  if (signal?.aborted) return counts.finish(true);
  const what = `replay of route "${spec.name}"`;
  requireFilterSubjects(plan, conn);
  const jsm = await conn.jetstreamManager();
  const info = await streamInfo(jsm, spec.stream, what);
  requireRetention(info, [RetentionPolicy.Workqueue], what);
  requireStoredSubjects(spec, factsOf(info.config));
  counts.endSeq = await endSeqOf(jsm, plan, info);
  if (isEmpty(plan, info, counts.endSeq)) return counts.finish(false);

  // Handlers' ctx.signal: aborted with ErrShutdownTimeout so the runtime counts what they
  // return then as interrupted, as at a broker's shutdown.
  const handlers = new AbortController();
  setMaxListeners(0, handlers.signal);
  const consumer = await orderedConsumer(conn, plan);
  let messages: ConsumerMessages | undefined;
  const onAbort = () => {
    handlers.abort(new ErrShutdownTimeout(`${what} aborted`));
    messages?.stop();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const ci = await consumer.info(true);
    if (ci.num_pending === 0) return counts.finish(false);
    messages = await consumer.consume({ max_messages: REPLAY_BATCH, expires: PULL_EXPIRES_MS });
    if (signal?.aborted) messages.stop();
    const deps: HandleDeps = {
      conn,
      spec,
      deadLetterSpec: { ...spec, durable: `${spec.durable}${REPLAY_DURABLE_SUFFIX}` },
      runtime: handlerRuntime(spec, plan.middleware, log),
      producer: plan.producer,
      logger: log,
      signal: handlers.signal,
    };
    counts.startReports(plan.progressIntervalMs);
    const watch = watchStream(messages, jsm, spec, info);
    let reachedEnd: boolean;
    try {
      reachedEnd = await readRange(messages, counts, deps, plan);
    } finally {
      watch.stop();
    }
    const aborted = signal?.aborted === true;
    const failure = watch.error();
    if (failure !== undefined) throw failure;
    if (!reachedEnd && !aborted) {
      const closedWith = await messages.closed();
      throw stopped(conn, what, closedWith instanceof Error ? closedWith : undefined);
    }
    // Aborted as the last message ran: the range was read, but a handler was interrupted.
    return counts.finish(aborted && (!reachedEnd || counts.interrupted > 0));
  } finally {
    signal?.removeEventListener("abort", onAbort);
    counts.stopReports();
    messages?.stop();
    if (messages !== undefined) await messages.closed();
    await consumer.delete().catch(() => {});
  }
}

/**
 * Reads until the end of the range, an abort or the consumer stopping; true when the end was
 * reached (a message at or past `endSeq`, or none left). Concurrency 1 awaits each message;
 * more keeps up to `concurrency` in flight and waits for a free one before reading on.
 */
async function readRange(
  messages: ConsumerMessages,
  counts: ReplayCounts,
  deps: HandleDeps,
  plan: ReplayPlan,
): Promise<boolean> {
  const endSeq = counts.endSeq;
  const inFlight = new Set<Promise<void>>();
  const run = (m: JsMsg): void => {
    const p: Promise<void> = handleReplayed(m, deps).then((v) => {
      counts.count(v);
      inFlight.delete(p);
    });
    inFlight.add(p);
  };
  let reachedEnd = false;
  try {
    for await (const m of messages) {
      if (plan.signal?.aborted) break;
      const { streamSequence: seq, pending } = m.info;
      if (seq > endSeq) {
        reachedEnd = true;
        break;
      }
      counts.read(seq, pending);
      if (redrivenForOther(m.headers, deps.spec.durable)) {
        counts.count("skipped");
      } else if (plan.concurrency === 1) {
        const a = attempt(m, 1, deps);
        const s = await a.settlement();
        counts.count(s.kind === "ack" ? "handled" : await settleReplayed(m, 1, s, deps, a.log));
      } else {
        run(m);
        while (inFlight.size >= plan.concurrency) await Promise.race(inFlight);
      }
      if (seq >= endSeq || pending === 0) {
        reachedEnd = true;
        break;
      }
    }
  } finally {
    await Promise.all(inFlight);
  }
  return reachedEnd;
}

/** The stream's end when the replay starts, lowered to `to`. */
async function endSeqOf(
  jsm: JetStreamManager,
  plan: ReplayPlan,
  info: StreamInfo,
): Promise<number> {
  const last = info.state.last_seq;
  const to = plan.to;
  if (to.kind === "end") return last;
  if (to.kind === "seq") return Math.min(to.seq, last);
  // Every message stored at or before `to`, to the millisecond: up to the first one after it.
  const after = new Date((resolveTime(to) as Date).getTime() + 1);
  const first = await firstSeqAtOrAfter(jsm, plan.spec.stream, after);
  return first === undefined ? last : Math.min(first - 1, last);
}

/** True when nothing can be in the range (checked before a consumer is made). */
function isEmpty(plan: ReplayPlan, info: StreamInfo, endSeq: number): boolean {
  if (info.state.messages === 0 || endSeq < info.state.first_seq) return true;
  return plan.from.kind === "seq" && plan.from.seq > endSeq;
}

async function orderedConsumer(conn: Connection, plan: ReplayPlan): Promise<Consumer> {
  const { spec } = plan;
  const [only, ...more] = spec.subjects;
  const options: Partial<OrderedConsumerOptions> = {
    filter_subjects: only !== undefined && more.length === 0 ? only : [...spec.subjects],
    ...deliverConfig(plan.from),
  };
  try {
    return await conn.jetstream.consumers.get(spec.stream, options);
  } catch (cause) {
    if (isStreamNotFound(cause)) {
      throw new ErrStreamNotFound(
        `replay of route "${spec.name}": stream "${spec.stream}" does not exist`,
        { cause },
      );
    }
    if (cause instanceof JetStreamApiError) {
      throw new ErrConsumerConfigRejected(
        `the server refused the replay consumer of route "${spec.name}" on stream "${spec.stream}": ${causeText(cause)}`,
        { cause },
      );
    }
    throw cause;
  }
}

function requireFilterSubjects(plan: ReplayPlan, conn: Connection): void {
  const { spec } = plan;
  const server = conn.serverVersion();
  if (spec.subjects.length === 1 || versionAtLeast(server, FILTER_SUBJECTS_SINCE)) return;
  throw new ErrServerUnsupported(
    `replay of route "${spec.name}" filters on ${spec.subjects.length} subjects, which needs nats-server ${FILTER_SUBJECTS_SINCE.join(".")} or later (filter_subjects); this server is ${server.join(".")}`,
  );
}

/** Why the pull ended before the range did. */
function stopped(conn: Connection, what: string, closedWith: Error | undefined): Error {
  if (closedWith instanceof JetrouteError) return closedWith;
  if (conn.nats.isClosed()) {
    return new ErrConnectionClosed(
      `connection closed during the ${what}`,
      closedWith ? { cause: closedWith } : undefined,
    );
  }
  return (
    closedWith ?? new ErrConnectionClosed(`the ${what} stopped reading before the end of its range`)
  );
}
