import { Match, type MsgHdrs } from "@nats-io/nats-core";
import { DeadLetterHeader, RedriveHeader } from "../consumer/dead-letter-headers.js";
import { decodeIssuesHeader, type SchemaIssue } from "../schema/issues.js";
import type { DeadLetter } from "./types.js";

export { RedriveHeader } from "../consumer/dead-letter-headers.js";

/** A message of a DLQ stream, as read by direct get or a consumer. */
export interface RawDeadLetter {
  /** Its sequence in the DLQ stream. */
  readonly seq: number;
  /** The DLQ subject it is stored on. */
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** The stream's timestamp of it. */
  readonly storedAt: Date;
}

const EMPTY: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * Decodes a DLQ message into a {@link DeadLetter}. Never throws: a missing or unreadable
 * `Jetroute-*` header leaves its field `undefined` and adds a sentence to `problems`.
 * @example
 * const m = await jsm.streams.getMessage("ORDERS_DLQ", { seq: 7 });
 * if (m) decodeDeadLetter({ seq: m.seq, subject: m.subject, data: m.data, headers: m.header, storedAt: m.time });
 */
export function decodeDeadLetter(raw: RawDeadLetter): DeadLetter {
  const problems: string[] = [];
  const h = raw.headers;
  const text = (name: string, required: boolean): string | undefined => {
    const v = h?.has(name, Match.IgnoreCase) ? h.get(name, Match.IgnoreCase) : undefined;
    if (v === undefined || v === "") {
      if (required) problems.push(`no ${name} header`);
      return undefined;
    }
    return v;
  };
  const count = (name: string, required: boolean, min: number): number | undefined => {
    const v = text(name, required);
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      problems.push(`${name} is not an integer >= ${min}: ${JSON.stringify(v)}`);
      return undefined;
    }
    return n;
  };
  const originalSubject = text(DeadLetterHeader.OriginalSubject, true);
  const stream = text(DeadLetterHeader.Stream, true);
  const sequence = count(DeadLetterHeader.Sequence, true, 1);
  const deliveryCount = count(DeadLetterHeader.DeliveryCount, true, 0);
  const error = text(DeadLetterHeader.Error, true);
  const route = text(DeadLetterHeader.Route, true);
  const durable = text(DeadLetterHeader.Durable, true);
  const timeText = text(DeadLetterHeader.Time, true);
  let time: Date | undefined;
  if (timeText !== undefined) {
    const t = new Date(timeText);
    if (Number.isNaN(t.getTime()))
      problems.push(`${DeadLetterHeader.Time} is not a time: ${JSON.stringify(timeText)}`);
    else time = t;
  }
  const payloadTruncated = count(DeadLetterHeader.PayloadTruncated, false, 0);
  const headersDropped = count(DeadLetterHeader.HeadersDropped, false, 0);
  const issuesText = text(DeadLetterHeader.SchemaIssues, false);
  let schemaIssues: SchemaIssue[] | undefined;
  if (issuesText !== undefined) {
    schemaIssues = decodeIssuesHeader(issuesText);
    if (schemaIssues === undefined) {
      problems.push(`${DeadLetterHeader.SchemaIssues} is not a JSON list of issues`);
    }
  }
  const schemaIssuesOmitted = count(DeadLetterHeader.SchemaIssuesOmitted, false, 0);
  const redrivenFrom = text(RedriveHeader.RedrivenFrom, false);
  const msgId = text("Nats-Msg-Id", false);
  return {
    seq: raw.seq,
    subject: raw.subject,
    storedAt: raw.storedAt,
    originalSubject,
    stream,
    sequence,
    deliveryCount,
    error,
    route,
    durable,
    time,
    payloadTruncated,
    headersDropped,
    schemaIssues,
    schemaIssuesOmitted,
    redrivenFrom,
    msgId,
    headers: originalHeaders(h),
    data: raw.data,
    problems,
  };
}

/** The headers of `h` that belong to the original message: no `Jetroute-*`, no `Nats-*`. */
export function originalHeaders(h: MsgHdrs | undefined): ReadonlyMap<string, readonly string[]> {
  if (h === undefined) return EMPTY;
  const out = new Map<string, string[]>();
  for (const [key, values] of h) {
    const lower = key.toLowerCase();
    if (lower.startsWith("jetroute-") || lower.startsWith("nats-")) continue;
    const list = out.get(key);
    if (list) list.push(...values);
    else out.set(key, [...values]);
  }
  return out;
}
