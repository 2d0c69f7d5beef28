import { type MsgHdrs, headers as natsHeaders } from "@nats-io/nats-core";
import type { JetStreamRouteSpec } from "../router/types.js";
import { encodeIssuesHeader, type SchemaIssue, SchemaIssuesHeader } from "../schema/issues.js";

/** Headers jetroute adds to every dead letter, so it can be traced back and replayed. */
export const DeadLetterHeader = {
  OriginalSubject: "Jetroute-Original-Subject",
  Stream: "Jetroute-Stream",
  Sequence: "Jetroute-Sequence",
  DeliveryCount: "Jetroute-Delivery-Count",
  Error: "Jetroute-Error",
  Route: "Jetroute-Route",
  /** The durable consumer that gave up on the message (two routes may dead-letter one message). */
  Durable: "Jetroute-Durable",
  Time: "Jetroute-Time",
  /**
   * Only on a dead letter too large to store whole: its payload was left out (the letter's data
   * is empty); the value is the original payload size in bytes. Fetch the original by
   * `Jetroute-Stream` / `Jetroute-Sequence` (on a limits-retention stream it is still there).
   */
  PayloadTruncated: "Jetroute-Payload-Truncated",
  /** Only when the original headers were left out too: how many header fields were dropped. */
  HeadersDropped: "Jetroute-Headers-Dropped",
  /**
   * Only on a payload that failed its schema or a malformed envelope: the validation issues, a
   * one-line JSON array of `{ message, path? }` (ASCII, at most 2048 characters).
   */
  SchemaIssues: SchemaIssuesHeader.Issues,
  /** Only when some issues did not fit in `Jetroute-Schema-Issues`: how many were left out. */
  SchemaIssuesOmitted: SchemaIssuesHeader.Omitted,
} as const;
export type DeadLetterHeader = (typeof DeadLetterHeader)[keyof typeof DeadLetterHeader];

/** Headers a redrive (src/dlq) puts on what it publishes; the engine reads the target. */
export const RedriveHeader = {
  /** On every redriven message: `<dlqStream>:<seq>` of the dead letter it came from. */
  RedrivenFrom: "Jetroute-Redriven-From",
  /**
   * The durable the message is redriven for (the one that gave up on it). Every other durable
   * consuming the subject acks it without running its handler: a redrive re-runs the failed
   * consumer, not every consumer of a shared subject. Absent with `allConsumers`.
   */
  RedriveDurable: "Jetroute-Redrive-Durable",
} as const;
export type RedriveHeader = (typeof RedriveHeader)[keyof typeof RedriveHeader];

/** Replays store their dead letters under the route's durable with this suffix (src/replay). */
export const REPLAY_DURABLE_SUFFIX = "@replay";

/**
 * True when `headers` carry a redrive for another durable than `durable`: the message is
 * not this consumer's to run. A letter stored by a replay targets the route's live durable.
 */
export function redrivenForOther(headers: MsgHdrs | undefined, durable: string): boolean {
  const target = headers?.get(RedriveHeader.RedriveDurable);
  return target !== undefined && target !== "" && target !== durable;
}

/** What a dead letter is made from (the engine builds it from the delivered message). */
export interface DeadLetterSource {
  /** The subject the original was published to. */
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly stream: string;
  /** Stream sequence of the original. */
  readonly seq: number;
  readonly deliveryCount: number;
}

/**
 * How much of the original a dead letter carries: `whole`; `noPayload` (payload left out,
 * original headers kept); `bare` (payload and original headers left out, reason shortened).
 */
export type DeadLetterFit = "whole" | "noPayload" | "bare";

/** The longest `Jetroute-Error` value of a `bare` dead letter, in characters. */
export const BARE_REASON_MAX_CHARS = 1024;

/**
 * The dead letter's `Nats-Msg-Id`: `<stream>:<seq>:<durable>`. JetStream deduplicates per DLQ
 * stream, so the durable is part of it: two durables giving up on one message store two dead
 * letters, while one durable storing the same message again (a redelivery after a lost term)
 * stores one, within the DLQ stream's duplicate window.
 */
export function deadLetterMsgId(source: DeadLetterSource, spec: JetStreamRouteSpec): string {
  return `${source.stream}:${source.seq}:${spec.durable}`;
}

/**
 * The dead letter's headers: the original ones, minus `Nats-*` server directives (an
 * `Nats-Expected-Last-Sequence` copied over would make the DLQ publish fail; `Nats-Msg-Id` is
 * replaced by ours), plus the `Jetroute-*` trace headers. `fit` other than `whole` adds
 * `Jetroute-Payload-Truncated` (and, for `bare`, `Jetroute-Headers-Dropped`). `issues` add
 * `Jetroute-Schema-Issues` (bounded, so it fits every fit) and, when some were left out,
 * `Jetroute-Schema-Issues-Omitted`.
 */
export function deadLetterHeaders(
  source: DeadLetterSource,
  spec: JetStreamRouteSpec,
  reason: string,
  fit: DeadLetterFit = "whole",
  issues?: readonly SchemaIssue[],
): MsgHdrs {
  const h = natsHeaders();
  let dropped = 0;
  if (source.headers) {
    for (const [key, values] of source.headers) {
      if (key.toLowerCase().startsWith("nats-")) continue;
      if (fit === "bare") {
        dropped++;
        continue;
      }
      for (const v of values) h.append(key, v);
    }
  }
  h.set(DeadLetterHeader.OriginalSubject, source.subject);
  h.set(DeadLetterHeader.Stream, source.stream);
  h.set(DeadLetterHeader.Sequence, String(source.seq));
  h.set(DeadLetterHeader.DeliveryCount, String(source.deliveryCount));
  // Header values are one line; a multi-line error message would corrupt the frame.
  let oneLine = reason.replace(/[\r\n]+/g, " ");
  if (fit === "bare" && oneLine.length > BARE_REASON_MAX_CHARS) {
    oneLine = `${oneLine.slice(0, BARE_REASON_MAX_CHARS - 1)}…`;
  }
  h.set(DeadLetterHeader.Error, oneLine);
  h.set(DeadLetterHeader.Route, spec.name);
  h.set(DeadLetterHeader.Durable, spec.durable);
  h.set(DeadLetterHeader.Time, new Date().toISOString());
  if (fit !== "whole") h.set(DeadLetterHeader.PayloadTruncated, String(source.data.length));
  if (fit === "bare" && dropped > 0) h.set(DeadLetterHeader.HeadersDropped, String(dropped));
  if (issues !== undefined && issues.length > 0) setIssueHeaders(h, issues);
  return h;
}

/** Writes `Jetroute-Schema-Issues` (and `-Omitted` when some did not fit) into `h`. */
export function setIssueHeaders(h: MsgHdrs, issues: readonly SchemaIssue[]): void {
  const { value, omitted } = encodeIssuesHeader(issues);
  h.set(SchemaIssuesHeader.Issues, value);
  if (omitted > 0) h.set(SchemaIssuesHeader.Omitted, String(omitted));
}
