import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  type StoredMsg,
  type StreamInfo,
} from "@nats-io/jetstream";
import { requireConnection } from "../conn/require.js";
import type { Connection } from "../conn/types.js";
import { isStreamNotFound } from "../consumer/stream-checks.js";
import {
  ErrDeadLetterNotFound,
  ErrInvalidOption,
  ErrStreamNotFound,
  ErrStreamOperationRefused,
  invalidValueMessage,
} from "../errors/index.js";
import { validateStreamName } from "../stream/index.js";
import { decodeDeadLetter, type RawDeadLetter } from "./decode.js";
import { type ResolvedFilter, resolveDeadLetterFilter } from "./filter.js";
import { checkOptionKeys } from "./options.js";
import type { DeadLetter, ListDeadLettersOptions } from "./types.js";

/** Letters fetched per pull: large enough to stream fast, small enough to bound memory. */
const BATCH = 256;
/** How long one pull waits when fewer letters than asked for are left (deleted meanwhile). */
const PULL_EXPIRES_MS = 1_000;

/**
 * The dead letters of `dlqStream` that match `options.filter`, oldest first, streamed: from the
 * stream's first letter (or the first stored at `filter.since`) up to its last sequence when the
 * call starts. Never waits for new letters; an empty stream ends at once. Reads a limits stream
 * with an ordered ephemeral consumer (no acks, deleted at the end); a work-queue or interest
 * stream (which refuse such a consumer) one sequence at a time.
 * @throws ErrStreamNotFound (on the first `next()`) when `dlqStream` does not exist;
 *   ErrInvalidOption / ErrInvalidSubject for a bad option; `signal.reason` when aborted.
 * @example
 * for await (const letter of iterateDeadLetters(conn, "ORDERS_DLQ", { filter: { route: "billing" } })) {
 *   console.log(letter.seq, letter.originalSubject, letter.error);
 * }
 */
export function iterateDeadLetters(
  conn: Connection,
  dlqStream: string,
  options: ListDeadLettersOptions = {},
): AsyncIterable<DeadLetter> {
  checkConn(conn);
  validateStreamName(dlqStream);
  checkOptionKeys(options, "iterateDeadLetters");
  const filter = resolveDeadLetterFilter(options.filter);
  const limit = checkLimit(options.limit);
  return scanDeadLetters(conn, dlqStream, filter, limit, options.signal);
}

/**
 * Like {@link iterateDeadLetters}, collected into an array (for JSON output and small DLQs).
 * @example const letters = await listDeadLetters(conn, "ORDERS_DLQ", { filter: { since: "1h" }, limit: 50 });
 */
export async function listDeadLetters(
  conn: Connection,
  dlqStream: string,
  options: ListDeadLettersOptions = {},
): Promise<DeadLetter[]> {
  checkOptionKeys(options, "listDeadLetters");
  const out: DeadLetter[] = [];
  for await (const letter of iterateDeadLetters(conn, dlqStream, options)) out.push(letter);
  return out;
}

/**
 * The dead letter at DLQ sequence `seq`.
 * @throws ErrDeadLetterNotFound when the stream has no message there; ErrStreamNotFound when
 *   `dlqStream` does not exist; ErrInvalidOption for a `seq` that is not an integer >= 1.
 * @example const letter = await getDeadLetter(conn, "ORDERS_DLQ", 42);
 */
export async function getDeadLetter(
  conn: Connection,
  dlqStream: string,
  seq: number,
): Promise<DeadLetter> {
  checkConn(conn);
  validateStreamName(dlqStream);
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) {
    throw new ErrInvalidOption(invalidValueMessage("seq", seq, "an integer >= 1"));
  }
  const jsm = await conn.jetstreamManager();
  let m: Awaited<ReturnType<JetStreamManager["streams"]["getMessage"]>>;
  try {
    m = await jsm.streams.getMessage(dlqStream, { seq });
  } catch (cause) {
    throw mapStreamError(dlqStream, cause);
  }
  if (m === null) {
    throw new ErrDeadLetterNotFound(`stream "${dlqStream}" has no message at sequence ${seq}`);
  }
  return decodeDeadLetter({
    seq: m.seq,
    subject: m.subject,
    data: m.data,
    headers: m.header,
    storedAt: m.time,
  });
}

/** The stream's info; ErrStreamNotFound when it does not exist. */
export async function dlqStreamInfo(jsm: JetStreamManager, dlqStream: string): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(dlqStream);
  } catch (cause) {
    throw mapStreamError(dlqStream, cause);
  }
}

export function mapStreamError(dlqStream: string, cause: unknown): unknown {
  if (isStreamNotFound(cause)) {
    return new ErrStreamNotFound(`DLQ stream "${dlqStream}" does not exist`, { cause });
  }
  return cause;
}

/** The scan behind every operation; arguments already validated. */
export async function* scanDeadLetters(
  conn: Connection,
  dlqStream: string,
  filter: ResolvedFilter,
  limit: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<DeadLetter> {
  signal?.throwIfAborted();
  if (limit === 0) return;
  const jsm = await conn.jetstreamManager();
  const info = await dlqStreamInfo(jsm, dlqStream);
  if (info.state.messages === 0) return;
  // Work-queue and interest streams refuse a consumer starting at a sequence or time (and a
  // second unfiltered consumer on a work-queue stream): read those by sequence instead.
  const source =
    info.config.retention === RetentionPolicy.Limits
      ? readOrdered(conn, dlqStream, info, filter.since, signal)
      : readBySequence(jsm, dlqStream, info, signal);
  let yielded = 0;
  for await (const raw of source) {
    const letter = decodeDeadLetter(raw);
    if (!filter.matches(letter)) continue;
    signal?.throwIfAborted();
    yield letter;
    yielded++;
    if (yielded >= limit) return;
  }
}

/** Every message of a limits stream from its start (or `since`) up to its last sequence now. */
async function* readOrdered(
  conn: Connection,
  dlqStream: string,
  info: StreamInfo,
  since: Date | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<RawDeadLetter> {
  const lastSeq = info.state.last_seq;
  let consumer: Awaited<ReturnType<Connection["jetstream"]["consumers"]["get"]>>;
  try {
    consumer = await conn.jetstream.consumers.get(
      dlqStream,
      since === undefined
        ? { opt_start_seq: info.state.first_seq }
        : { opt_start_time: since.toISOString() },
    );
  } catch (cause) {
    throw mapStreamError(dlqStream, cause);
  }
  try {
    let pending = (await consumer.info(true)).num_pending;
    while (pending > 0) {
      signal?.throwIfAborted();
      // Read a whole batch before yielding: an ordered consumer's fetch must not be left
      // half-read, and the caller may take long per letter (a redrive publishes each).
      const batch: JsMsg[] = [];
      const messages = await consumer.fetch({
        max_messages: Math.min(BATCH, pending),
        expires: PULL_EXPIRES_MS,
      });
      for await (const m of messages) batch.push(m);
      if (batch.length === 0) return; // the rest was deleted meanwhile
      for (const m of batch) {
        if (m.seq > lastSeq) return;
        pending = m.info.pending;
        yield {
          seq: m.seq,
          subject: m.subject,
          data: m.data,
          headers: m.headers,
          storedAt: m.time,
        };
      }
      if (batch[batch.length - 1]?.seq === lastSeq) return;
    }
  } finally {
    // Ephemeral, but it would linger for its inactive threshold (5 min) in `consumer ls`.
    await consumer.delete().catch(() => {});
  }
}

/** Every message from the first sequence to the last one now, one request each. */
async function* readBySequence(
  jsm: JetStreamManager,
  dlqStream: string,
  info: StreamInfo,
  signal: AbortSignal | undefined,
): AsyncGenerator<RawDeadLetter> {
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    signal?.throwIfAborted();
    let m: StoredMsg | null;
    try {
      m = await jsm.streams.getMessage(dlqStream, { seq });
    } catch (cause) {
      throw mapStreamError(dlqStream, cause);
    }
    if (m !== null) {
      yield { seq: m.seq, subject: m.subject, data: m.data, headers: m.header, storedAt: m.time };
    }
  }
}

export function checkConn(conn: Connection): void {
  requireConnection(conn, "conn");
}

export function checkLimit(limit: unknown): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 0) {
    throw new ErrInvalidOption(invalidValueMessage("limit", limit, "an integer >= 0"));
  }
  return limit;
}

/**
 * `cause` as ErrStreamOperationRefused when the server refused a delete (10057) or a purge (10110)
 * because of the stream's `deny_delete` / `deny_purge` ("message delete not permitted", "stream
 * purge not permitted" on 2.9.10 and 2.15.1); undefined for any other error.
 */
export function refusedByStream(
  dlqStream: string,
  cause: unknown,
  action: string,
): ErrStreamOperationRefused | undefined {
  if (!(cause instanceof JetStreamApiError) || !/not permitted/i.test(cause.message)) {
    return undefined;
  }
  if (cause.code === 10057) {
    return new ErrStreamOperationRefused(
      dlqStream,
      "deny_delete",
      action,
      "its letters leave it only by its limits (max_age, max_msgs, max_bytes) or by a purge without a filter (unless deny_purge is set too); or create the DLQ stream again without deny_delete",
      { cause },
    );
  }
  if (cause.code === 10110) {
    return new ErrStreamOperationRefused(
      dlqStream,
      "deny_purge",
      action,
      "purge with a filter instead (it deletes the matching letters one at a time, unless deny_delete is set too), let its limits (max_age, max_msgs, max_bytes) drop old letters, or create the DLQ stream again without deny_purge",
      { cause },
    );
  }
  return undefined;
}

/**
 * True when deleting a message failed because it is not there (any more): 10037 "no message
 * found", or 10057 (delete failed) saying "no message found" / "stream store EOF" (a sequence
 * past the end), as 2.9.10 and 2.15.1 answer.
 */
export function isNoMessage(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  if (err.code === JetStreamApiCodes.NoMessageFound) return true;
  return err.code === 10057 && /no message found|EOF/i.test(err.message);
}
