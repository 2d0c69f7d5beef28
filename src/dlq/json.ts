import type { SchemaIssue } from "../schema/issues.js";
import type { DeadLetter } from "./types.js";

/**
 * A {@link DeadLetter} as plain JSON (what `JSON.stringify` of a `Map` or a `Uint8Array` would
 * mangle): times as ISO strings, missing fields as `null`, headers as an object of string arrays,
 * the payload as base64 plus, when it is valid UTF-8, as text.
 */
export interface DeadLetterJSON {
  readonly seq: number;
  readonly subject: string;
  readonly storedAt: string;
  readonly originalSubject: string | null;
  readonly stream: string | null;
  readonly sequence: number | null;
  readonly deliveryCount: number | null;
  readonly error: string | null;
  readonly route: string | null;
  readonly durable: string | null;
  readonly time: string | null;
  readonly payloadTruncated: number | null;
  readonly headersDropped: number | null;
  readonly schemaIssues: readonly SchemaIssue[] | null;
  readonly schemaIssuesOmitted: number | null;
  readonly redrivenFrom: string | null;
  readonly msgId: string | null;
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** Payload size in bytes. */
  readonly size: number;
  /** The payload, base64. */
  readonly data: string;
  /** The payload as text; `null` when it is not valid UTF-8. */
  readonly text: string | null;
  readonly problems: readonly string[];
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON form of a dead letter, for `--json` output and logs.
 * @example console.log(JSON.stringify((await listDeadLetters(conn, "ORDERS_DLQ")).map(deadLetterToJSON)));
 */
export function deadLetterToJSON(letter: DeadLetter): DeadLetterJSON {
  let text: string | null;
  try {
    text = UTF8.decode(letter.data);
  } catch {
    text = null;
  }
  return {
    seq: letter.seq,
    subject: letter.subject,
    storedAt: letter.storedAt.toISOString(),
    originalSubject: letter.originalSubject ?? null,
    stream: letter.stream ?? null,
    sequence: letter.sequence ?? null,
    deliveryCount: letter.deliveryCount ?? null,
    error: letter.error ?? null,
    route: letter.route ?? null,
    durable: letter.durable ?? null,
    time: letter.time?.toISOString() ?? null,
    payloadTruncated: letter.payloadTruncated ?? null,
    headersDropped: letter.headersDropped ?? null,
    schemaIssues: letter.schemaIssues ?? null,
    schemaIssuesOmitted: letter.schemaIssuesOmitted ?? null,
    redrivenFrom: letter.redrivenFrom ?? null,
    msgId: letter.msgId ?? null,
    headers: Object.fromEntries([...letter.headers].map(([k, v]) => [k, [...v]])),
    size: letter.data.length,
    data: Buffer.from(letter.data.buffer, letter.data.byteOffset, letter.data.byteLength).toString(
      "base64",
    ),
    text,
    problems: [...letter.problems],
  };
}
