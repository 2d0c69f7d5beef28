import type { Msg } from "@nats-io/nats-core";

/** What the engine needs of a delivery before it runs anything, read from its ack subject. */
export interface Delivery {
  /** The stream the message is stored in. */
  readonly stream: string;
  /** The message's stream sequence. */
  readonly seq: number;
  /** How many times the server has delivered it, this time included. */
  readonly deliveryCount: number;
  /** When the server stored it, in ns since the epoch, as the decimal digits of the subject. */
  readonly timestampNanos: string;
}

const ACK_PREFIX = "$JS.ACK.";
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const STARTS = new Int32Array(12);

/**
 * Stream, sequence, delivery count and timestamp of a JetStream delivery, read from its ack
 * subject (the reply of a message a pull request received). nats.js's `parseInfo` builds eleven
 * fields with a split and five `parseInt`s; the engine needs four, on every message. The two
 * layouts the server sends:
 *
 *     $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>             (9 tokens)
 *     $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>[.<tok>]
 *
 * Returns undefined for anything else (the engine then treats the message as not JetStream's).
 * @example parseAckSubject("$JS.ACK.S.c.1.42.42.1700000000000000000.0") // { stream: "S", seq: 42, deliveryCount: 1, ... }
 */
export function parseAckSubject(subject: string): Delivery | undefined {
  if (!subject.startsWith(ACK_PREFIX)) return undefined;
  // Where each token after "$JS.ACK." starts; at most 11 of them matter. A scratch array
  // reused by every call (synchronous): one allocation fewer per message on the hot path.
  const starts = STARTS;
  starts[0] = ACK_PREFIX.length;
  let count = 1;
  for (let i = ACK_PREFIX.length; i < subject.length && count < 12; i++) {
    if (subject.charCodeAt(i) === DOT) starts[count++] = i + 1;
  }
  for (let i = count; i < starts.length; i++) starts[i] = -1;
  const tokens = count + 2; // "$JS" and "ACK" are tokens too
  // v1 puts <delivered> at token 4, v2 (11 or more tokens) at token 6; 10 is neither.
  const first = tokens === 9 ? 2 : tokens >= 11 ? 4 : -1;
  if (first < 0) return undefined;
  const deliveryCount = digitsAt(subject, starts[first] ?? -1);
  const seq = digitsAt(subject, starts[first + 1] ?? -1);
  if (deliveryCount <= 0 || seq <= 0) return undefined;
  const tsEnd = starts[first + 4] ?? -1;
  return {
    stream: subject.slice(starts[first - 2] ?? 0, (starts[first - 1] ?? 1) - 1),
    seq,
    deliveryCount,
    timestampNanos: subject.slice(starts[first + 3] ?? 0, tsEnd < 0 ? subject.length : tsEnd - 1),
  };
}

/** The decimal number starting at `at` and ending at the next dot or the end; -1 if none. */
function digitsAt(s: string, at: number): number {
  if (at < 0) return -1;
  let n = 0;
  let i = at;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) break;
    if (c < ZERO || c > NINE) return -1;
    n = n * 10 + (c - ZERO);
  }
  return i === at || !Number.isSafeInteger(n) ? -1 : n;
}

/**
 * True for a delivery without its payload: a `headers_only` consumer sends `Nats-Msg-Size` in
 * place of the body (set by nats-server, never by a publisher). Handing it to a handler would
 * ack an empty message; the engine puts it back until the audit turns headers_only off.
 */
export function isHeadersOnly(msg: Msg): boolean {
  return msg.headers?.has("Nats-Msg-Size") ?? false;
}

/** How long a headers-only delivery waits before it comes back (the audit runs every 2 s). */
export const HEADERS_ONLY_RETRY_MS = 2_000;
