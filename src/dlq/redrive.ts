import type { JetStreamManager } from "@nats-io/jetstream";
import type { Connection } from "../conn/types.js";
import { isStreamNotFound } from "../consumer/stream-checks.js";
import {
  causeText,
  ErrInvalidOption,
  ErrorCode,
  invalidValueMessage,
  isJetrouteError,
} from "../errors/index.js";
import { createProducer } from "../producer/index.js";
import type { Producer } from "../producer/types.js";
import { validateStreamName } from "../stream/index.js";
import { validatePublishSubject } from "../subject/index.js";
import { resolveDeadLetterFilter } from "./filter.js";
import { checkOptionKeys } from "./options.js";
import { planRedrive } from "./plan.js";
import { checkConn, checkLimit, isNoMessage, refusedByStream, scanDeadLetters } from "./read.js";
import type {
  RedriveEvent,
  RedriveFailure,
  RedriveOptions,
  RedrivePlan,
  RedriveSummary,
} from "./types.js";

/**
 * Publishes dead letters back: each matching letter, oldest first, is JetStream-published to its
 * `Jetroute-Original-Subject` (or `to`) with its payload and original headers (no `Jetroute-*`,
 * no `Nats-*`), plus `Jetroute-Redriven-From: <dlqStream>:<seq>` and the msg id
 * `redriveMsgId`; only after the PubAck is the letter removed from the DLQ (unless `keep`).
 * One letter at a time, so an interruption (`signal`) stops between two letters; a letter
 * published but not yet removed is acked as a duplicate by a re-run within the target stream's
 * duplicate window (default 2 min) and then removed, so a re-run publishes each letter once.
 *
 * A letter stored without its payload (`Jetroute-Payload-Truncated`) is sent with the original's
 * payload and headers, read from `Jetroute-Stream` / `Jetroute-Sequence` when it is still there
 * (a limits stream keeps it); otherwise it is not sent (`failed`, kind `payload-missing`),
 * never with an empty payload. A letter with no stream for its subject, no original subject, or
 * a failed publish lands in `failed`; the others go on. Reads up to the DLQ's last sequence when
 * the call starts, so letters the redrive itself causes are not redriven again.
 * @throws ErrStreamNotFound when `dlqStream` does not exist; ErrInvalidOption,
 *   ErrInvalidSubject, ErrInvalidStreamName for bad arguments; ErrConnectionClosed when the
 *   connection closes during the run. Per-letter failures never throw.
 * @example
 * const summary = await redriveDeadLetters(conn, "ORDERS_DLQ", { filter: { route: "billing" } });
 * console.log(`${summary.published} published, ${summary.failed.length} failed`);
 */
export async function redriveDeadLetters(
  conn: Connection,
  dlqStream: string,
  options: RedriveOptions = {},
): Promise<RedriveSummary> {
  checkConn(conn);
  validateStreamName(dlqStream);
  checkOptionKeys(options, "redriveDeadLetters");
  const filter = resolveDeadLetterFilter(options.filter);
  const limit = checkLimit(options.limit);
  const { to, signal } = options;
  if (to !== undefined) validatePublishSubject(to, "to");
  const dryRun = flag(options.dryRun, "dryRun");
  const keep = flag(options.keep, "keep");
  const allConsumers = flag(options.allConsumers, "allConsumers");
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new ErrInvalidOption(invalidValueMessage("onProgress", options.onProgress, "a function"));
  }
  const report = (event: RedriveEvent): void => {
    try {
      options.onProgress?.(event);
    } catch {
      // Progress is for display; it must not stop a redrive half-way.
    }
  };

  const jsm = await conn.jetstreamManager();
  const producer = createProducer(conn);
  const streams = new Map<string, Promise<boolean>>();
  const hasStream = (subject: string): Promise<boolean> => {
    let known = streams.get(subject);
    if (known === undefined) {
      known = streamStores(jsm, subject);
      streams.set(subject, known);
    }
    return known;
  };

  let matched = 0;
  let published = 0;
  let duplicates = 0;
  let removed = 0;
  let kept = 0;
  const failed: RedriveFailure[] = [];
  const planned: RedrivePlan[] = [];
  let interrupted = signal?.aborted === true;
  const fail = (failure: RedriveFailure): void => {
    failed.push(failure);
    report({ kind: "failed", failure });
  };

  if (!interrupted) {
    // The scan gets no signal: an abort is checked here, between letters, so a publish is
    // never left without its removal.
    for await (const letter of scanDeadLetters(conn, dlqStream, filter, limit, undefined)) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      matched++;
      const plan = await planRedrive(jsm, dlqStream, letter, to, hasStream, allConsumers);
      if ("kind" in plan) {
        fail(plan);
        continue;
      }
      if (dryRun) {
        planned.push(plan);
        report({ kind: "planned", plan });
        continue;
      }
      const sent = await publish(producer, plan, hasStream, streams);
      if (sent !== "published" && sent !== "duplicate") {
        fail(sent);
        continue;
      }
      if (sent === "published") published++;
      else duplicates++;
      let gone = false;
      if (keep) {
        kept++;
      } else {
        const problem = await remove(jsm, dlqStream, plan);
        if (problem === undefined) {
          removed++;
          gone = true;
        } else {
          fail(problem);
        }
      }
      report({ kind: sent, seq: plan.seq, subject: plan.subject, removed: gone });
    }
  }
  return {
    matched,
    published,
    duplicates,
    removed,
    kept,
    failed,
    ...(dryRun ? { planned } : {}),
    interrupted,
  };
}

async function publish(
  producer: Producer,
  plan: RedrivePlan,
  hasStream: (subject: string) => Promise<boolean>,
  streams: Map<string, Promise<boolean>>,
): Promise<"published" | "duplicate" | RedriveFailure> {
  try {
    const ack = await producer.publishJetStream(plan.subject, plan.data, {
      msgId: plan.msgId,
      headers: plan.headers,
    });
    return ack.duplicate ? "duplicate" : "published";
  } catch (cause) {
    // Every later letter would fail the same way: stop the run (a re-run publishes each once).
    if (isJetrouteError(cause, ErrorCode.ConnectionClosed)) throw cause;
    if (isJetrouteError(cause, ErrorCode.NoResponders)) {
      // The stream may have gone since it was looked up: ask again.
      streams.delete(plan.subject);
      if (!(await hasStream(plan.subject))) {
        return {
          seq: plan.seq,
          kind: "no-stream",
          reason: `no stream stores "${plan.subject}" (dead letter ${plan.seq}); create one, or redrive it with \`to\``,
          cause,
        };
      }
    }
    return {
      seq: plan.seq,
      kind: "publish",
      reason: `publishing dead letter ${plan.seq} to "${plan.subject}" failed: ${causeText(cause)}; it stays in the DLQ`,
      cause,
    };
  }
}

async function remove(
  jsm: JetStreamManager,
  dlqStream: string,
  plan: RedrivePlan,
): Promise<RedriveFailure | undefined> {
  try {
    // no_erase: a redriven letter's bytes live on in the target stream anyway.
    await jsm.streams.deleteMessage(dlqStream, plan.seq, false);
    return undefined;
  } catch (cause) {
    // Already gone (a concurrent purge or redrive): what we wanted.
    if (isNoMessage(cause)) return undefined;
    const refused = refusedByStream(dlqStream, cause, `delete dead letter ${plan.seq}`);
    if (refused !== undefined) {
      // A re-run cannot remove it either: say so instead of promising it will.
      return {
        seq: plan.seq,
        kind: "remove",
        reason: `dead letter ${plan.seq} was published to "${plan.subject}" but stays in "${dlqStream}": the stream has deny_delete set, so no letter can be removed from it (redrive with keep to say so; a re-run within the target stream's duplicate window does not publish it again)`,
        cause: refused,
      };
    }
    return {
      seq: plan.seq,
      kind: "remove",
      reason: `dead letter ${plan.seq} was published to "${plan.subject}" but not removed from "${dlqStream}": ${causeText(cause)}; a re-run within the target stream's duplicate window removes it without publishing again`,
      cause,
    };
  }
}

/** True unless the server says no stream stores `subject`; a failed lookup counts as "yes". */
async function streamStores(jsm: JetStreamManager, subject: string): Promise<boolean> {
  try {
    await jsm.streams.find(subject);
    return true;
  } catch (err) {
    return !isStreamNotFound(err);
  }
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean")
    throw new ErrInvalidOption(invalidValueMessage(name, value, "a boolean"));
  return value;
}
