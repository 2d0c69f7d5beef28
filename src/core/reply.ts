import { type Msg, headers as natsHeaders } from "@nats-io/nats-core";
import { jsonCodec } from "../codec/index.js";
import { causeText, ErrorCode, findJetrouteError } from "../errors/index.js";
// One definition of the micro headers, shared with the producer that parses them.
import { SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER } from "../producer/headers.js";
import { encodeIssuesHeader, type SchemaIssue, SchemaIssuesHeader } from "../schema/issues.js";

/**
 * The `Nats-Service-Error-Code`s jetroute sends on its own (a `reject()` sends its own code).
 * HTTP-like, as the NATS micro convention suggests.
 */
export const ReplyCode = {
  /** The request could not be decoded (the handler threw ErrDecode). */
  BadRequest: 400,
  /** The handler threw, or its reply could not be encoded. */
  Internal: 500,
  /** Overloaded, shutting down, or the handler asked for a retry (core NATS has no redelivery). */
  Unavailable: 503,
} as const;

/** What a request is answered with. */
export type Reply =
  | { readonly kind: "data"; readonly data: Uint8Array }
  | {
      readonly kind: "error";
      readonly code: number;
      readonly description: string;
      /** Validation issues (a `reject()` with issues): header and JSON body, see `sendReply`. */
      readonly issues?: readonly SchemaIssue[];
    };

const EMPTY = new Uint8Array(0);
const json = jsonCodec();
// "No value" is JSON null, not an empty body: the producer's JSON codec rejects empty payloads,
// and a caller awaiting `request()` should get `null`, not an ErrDecode.
const NULL = json.encode(null);

/** The reply when the handler returned nothing (or `ack()`): JSON `null`. */
export const NULL_REPLY: Reply = Object.freeze({ kind: "data", data: NULL });

/** An error reply; `issues` only when there are some. */
export function errorReply(
  code: number,
  description: string,
  issues?: readonly SchemaIssue[],
): Reply {
  return issues === undefined || issues.length === 0
    ? { kind: "error", code, description }
    : { kind: "error", code, description, issues };
}

/**
 * Encodes a handler's return value as the reply body: bytes as they are, `undefined` as JSON
 * `null`, anything else with the JSON codec (the producer's default, which decodes it back).
 * Throws ErrEncode when the value has no JSON form (a BigInt, a cycle, a function).
 */
export function encodeReply(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value === undefined) return NULL;
  return json.encode(value);
}

/** The error reply for a thrown handler error: 400 for undecodable input, 500 otherwise. */
export function replyForError(err: unknown): Reply {
  const code =
    findJetrouteError(err, ErrorCode.Decode) !== undefined
      ? ReplyCode.BadRequest
      : ReplyCode.Internal;
  return errorReply(code, causeText(err));
}

/**
 * Sends `reply` to `msg`'s reply subject. Error replies carry the micro headers and an empty
 * body; one with validation issues also carries them in `Jetroute-Schema-Issues` (bounded, as
 * on a dead letter) and, complete, as its body: a JSON array of `{ message, path? }` (what
 * `ErrService.issues` is read from). Returns false when the reply could not be sent (no reply
 * subject, connection closed).
 */
export function sendReply(msg: Msg, reply: Reply): boolean {
  return trySendReply(msg, reply) === undefined;
}

/** Like {@link sendReply}, returning why the reply could not be sent (undefined when it was). */
export function trySendReply(msg: Msg, reply: Reply): unknown {
  try {
    let sent: boolean;
    if (reply.kind === "data") {
      sent = msg.respond(reply.data);
    } else {
      const h = natsHeaders();
      // Header values may not contain CR/LF; an error message with newlines would fail the send.
      h.set(SERVICE_ERROR_HEADER, reply.description.replace(/[\r\n]+/g, " ") || "error");
      h.set(SERVICE_ERROR_CODE_HEADER, String(reply.code));
      if (reply.issues === undefined) {
        sent = msg.respond(EMPTY, { headers: h });
      } else {
        const { value, omitted } = encodeIssuesHeader(reply.issues);
        h.set(SchemaIssuesHeader.Issues, value);
        if (omitted > 0) h.set(SchemaIssuesHeader.Omitted, String(omitted));
        sent = msg.respond(json.encode(reply.issues), { headers: h });
      }
    }
    return sent ? undefined : new Error("no reply subject");
  } catch (err) {
    return err;
  }
}
