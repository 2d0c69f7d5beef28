import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { fromCoreMsg, fromJetStream } from "../message/index.js";
// The producer's own header conversion, so a test's headers are checked as a publish's are.
import { toMsgHdrs } from "../producer/headers.js";
import type { Message, RouteSpec } from "../router/types.js";
import { subjectMatches } from "../subject/index.js";

/**
 * A message made up for a test: what `runHandler` hands a route's handler. Every field is
 * optional.
 * @example { data: { orderId: 7 }, headers: { "trace-id": "abc" }, deliveryCount: 3 }
 */
export interface TestMessage {
  /**
   * The payload: bytes as they are, a string as UTF-8, anything else JSON-encoded (as the
   * producer's default codec does).
   * @default an empty payload
   */
  readonly data?: string | Uint8Array | object | number | boolean | null;
  /** Header name -> value or values. @default none */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * The subject it was published to; must be one the route consumes.
   * @default the route's subject, when it has exactly one and no wildcard
   */
  readonly subject?: string;
  /** JetStream routes only: 1 on the first delivery. @default 1 */
  readonly deliveryCount?: number;
  /** JetStream routes only: the stream sequence. @default 1 */
  readonly streamSequence?: number;
  /** When the message was stored (JetStream) or received (core). @default now */
  readonly timestamp?: Date | number;
}

/** The raw pieces of a message, validated and encoded, from which handlers' views are made. */
export interface RawTestMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** ms since the epoch */
  readonly timestamp: number;
}

const encoder = new TextEncoder();
const MESSAGE_FIELDS = new Set([
  "data",
  "headers",
  "subject",
  "deliveryCount",
  "streamSequence",
  "timestamp",
]);

/** A payload as bytes: the rule the producer applies to `publish(subject, payload)`. */
export function encodeTestData(data: unknown, field: string): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (data instanceof Uint8Array) return data;
  if (typeof data === "string") return encoder.encode(data);
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw new ErrInvalidOption(invalidValueMessage(field, data, "JSON-encodable"), { cause });
  }
  if (json === undefined) {
    throw new ErrInvalidOption(invalidValueMessage(field, data, "JSON-encodable"));
  }
  return encoder.encode(json);
}

/** Headers given as a plain object, as nats.js headers (undefined for none). */
export function testHeaders(headers: unknown, field: string): MsgHdrs | undefined {
  if (headers === undefined) return undefined;
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new ErrInvalidOption(
      invalidValueMessage(field, headers, "an object of header name -> string or string[]"),
    );
  }
  try {
    return toMsgHdrs(headers as Record<string, string | readonly string[]>, true);
  } catch (cause) {
    throw new ErrInvalidOption(invalidValueMessage(field, headers, "valid headers"), { cause });
  }
}

function positiveInt(value: unknown, field: string): number {
  if (value === undefined) return 1;
  if (Number.isSafeInteger(value) && (value as number) >= 1) return value as number;
  throw new ErrInvalidOption(invalidValueMessage(field, value, "an integer of at least 1"));
}

function timestampOf(value: unknown, now: number): number {
  if (value === undefined) return now;
  if (value instanceof Date && Number.isFinite(value.getTime())) return value.getTime();
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new ErrInvalidOption(
    invalidValueMessage("message.timestamp", value, "a Date or ms since the epoch"),
  );
}

function subjectsOf(spec: RouteSpec): readonly string[] {
  return spec.kind === "jetstream" ? spec.subjects : [spec.subject];
}

function subjectFor(spec: RouteSpec, given: unknown): string {
  const own = subjectsOf(spec);
  if (given === undefined) {
    const [only] = own;
    if (own.length === 1 && only !== undefined && !/(^|\.)(\*|>)(\.|$)/.test(only)) return only;
    const expected = `given: route "${spec.name}" consumes ${own.map((s) => `"${s}"`).join(", ")}`;
    throw new ErrInvalidOption(invalidValueMessage("message.subject", given, expected));
  }
  if (typeof given !== "string" || given === "" || !own.some((s) => subjectMatches(s, given))) {
    const expected = `a subject route "${spec.name}" consumes (${own.map((s) => `"${s}"`).join(", ")})`;
    throw new ErrInvalidOption(invalidValueMessage("message.subject", given, expected));
  }
  return given;
}

/**
 * Checks a test message against the route it is for and encodes it. Throws ErrInvalidOption
 * naming the field (`message.data`, `message.subject`, ...).
 */
export function rawTestMessage(spec: RouteSpec, input: unknown, now: number): RawTestMessage {
  if (input === undefined) input = {};
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ErrInvalidOption(
      invalidValueMessage("message", input, "an object such as { data, headers, deliveryCount }"),
    );
  }
  for (const key of Object.keys(input)) {
    if (!MESSAGE_FIELDS.has(key)) {
      const expected = `left out (fields: ${[...MESSAGE_FIELDS].join(", ")})`;
      throw new ErrInvalidOption(
        invalidValueMessage(`message.${key}`, (input as Record<string, unknown>)[key], expected),
      );
    }
  }
  const m = input as TestMessage;
  return {
    subject: subjectFor(spec, m.subject),
    data: encodeTestData(m.data, "message.data"),
    headers: testHeaders(m.headers, "message.headers"),
    deliveryCount: positiveInt(m.deliveryCount, "message.deliveryCount"),
    streamSequence: positiveInt(m.streamSequence, "message.streamSequence"),
    timestamp: timestampOf(m.timestamp, now),
  };
}

/** The reply subject a synthetic request carries. */
export const TEST_REPLY_SUBJECT = "_INBOX.jetroute.test";

/**
 * The handler's view of `raw`, built by the same code the engines use (`fromJetStream`,
 * `fromCoreMsg`) over a stand-in for nats.js's Msg that has only what those read.
 */
export function testMessageView(spec: RouteSpec, raw: RawTestMessage): Message {
  const msg = {
    subject: raw.subject,
    data: raw.data,
    headers: raw.headers,
    reply: spec.kind === "request" ? TEST_REPLY_SUBJECT : "",
  } as unknown as Msg;
  if (spec.kind !== "jetstream") return fromCoreMsg(msg, raw.timestamp);
  return fromJetStream({
    msg,
    seq: raw.streamSequence,
    deliveryCount: raw.deliveryCount,
    timestampNanos: (BigInt(Math.trunc(raw.timestamp)) * 1_000_000n).toString(),
  });
}

/** Headers as a plain object of name -> values (what tests assert on). */
export function headersObject(h: MsgHdrs | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (h === undefined) return out;
  for (const [k, v] of h) out[k] = [...v];
  return out;
}
