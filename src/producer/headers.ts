import { Match, type MsgHdrs, headers as natsHeaders } from "@nats-io/nats-core";
import { ErrInvalidOption, ErrService, invalidValueMessage } from "../errors/index.js";
import {
  decodeIssuesHeader,
  parseIssueList,
  type SchemaIssue,
  SchemaIssuesHeader,
} from "../schema/issues.js";
import type { PublishOptions } from "./types.js";

type HeaderInput = PublishOptions["headers"];

/** The micro-service error reply headers (nats.js `@nats-io/services`, Go `micro`). */
export const SERVICE_ERROR_HEADER = "Nats-Service-Error";
export const SERVICE_ERROR_CODE_HEADER = "Nats-Service-Error-Code";

/**
 * A call's headers as nats.js MsgHdrs, or undefined when there are none (so nothing is
 * allocated on the common path). `copy` makes a fresh MsgHdrs even when one was given: nats.js
 * writes `Nats-Msg-Id` and expectation headers into the object it is handed, and the caller's
 * object must not change under them.
 */
export function toMsgHdrs(input: HeaderInput, copy: boolean): MsgHdrs | undefined {
  if (input === undefined) return undefined;
  if (isMsgHdrs(input)) {
    if (!copy) return input;
    const h = natsHeaders();
    for (const [k, values] of input) for (const v of values) h.append(k, v);
    return h;
  }
  if (typeof input !== "object" || input === null) {
    throw new ErrInvalidOption(
      invalidValueMessage("headers", input, "a plain object of strings or a MsgHdrs"),
    );
  }
  const h = natsHeaders();
  for (const [k, v] of Object.entries(input)) {
    if (typeof v === "string") {
      append(h, k, v);
    } else if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
      for (const x of v) append(h, k, x);
    } else {
      throw new ErrInvalidOption(
        invalidValueMessage(`headers[${JSON.stringify(k)}]`, v, "a string or an array of strings"),
      );
    }
  }
  return h;
}

function append(h: MsgHdrs, key: string, value: string): void {
  try {
    h.append(key, value);
  } catch (cause) {
    // nats.js refuses keys with spaces, colons or control characters.
    throw new ErrInvalidOption(invalidValueMessage("header name", key, "a valid MIME header key"), {
      cause,
    });
  }
}

function isMsgHdrs(value: unknown): value is MsgHdrs {
  const h = value as MsgHdrs;
  return (
    typeof h === "object" &&
    h !== null &&
    typeof h.append === "function" &&
    typeof h.get === "function" &&
    typeof (h as Iterable<unknown>)[Symbol.iterator] === "function"
  );
}

/**
 * The ErrService a reply carries in `Nats-Service-Error(-Code)` headers, or undefined for a
 * normal reply. A description without a parsable code counts as code 500. With
 * `Jetroute-Schema-Issues`, the error's `issues` are the body's JSON list (complete), else the
 * header's (bounded).
 */
export function serviceErrorOf(
  subject: string,
  h: MsgHdrs | undefined,
  data?: Uint8Array,
): ErrService | undefined {
  if (h === undefined) return undefined;
  const hasCode = h.has(SERVICE_ERROR_CODE_HEADER, Match.IgnoreCase);
  const hasText = h.has(SERVICE_ERROR_HEADER, Match.IgnoreCase);
  if (!hasCode && !hasText) return undefined;
  const code = Number.parseInt(h.get(SERVICE_ERROR_CODE_HEADER, Match.IgnoreCase), 10);
  const issues = h.has(SchemaIssuesHeader.Issues, Match.IgnoreCase)
    ? replyIssues(h.get(SchemaIssuesHeader.Issues, Match.IgnoreCase), data)
    : undefined;
  return new ErrService(
    subject,
    Number.isFinite(code) ? code : 500,
    h.get(SERVICE_ERROR_HEADER, Match.IgnoreCase),
    issues === undefined ? undefined : { issues },
  );
}

const decoder = new TextDecoder();

function replyIssues(header: string, data: Uint8Array | undefined): SchemaIssue[] | undefined {
  if (data !== undefined && data.length > 0) {
    try {
      const fromBody = parseIssueList(JSON.parse(decoder.decode(data)));
      if (fromBody !== undefined) return fromBody;
    } catch {
      // not JSON: fall back to the header
    }
  }
  return decodeIssuesHeader(header);
}
