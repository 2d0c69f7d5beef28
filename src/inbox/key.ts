import { createHash } from "node:crypto";
import { EnvelopeHeader } from "../envelope/types.js";
import type { Message } from "../router/types.js";

/** Set by the envelope codec to the event's id (which is also its `Nats-Msg-Id`). */
export const EVENT_ID_HEADER = EnvelopeHeader.EventId;
/** JetStream's deduplication id. */
export const MSG_ID_HEADER = "Nats-Msg-Id";

/**
 * The default key of a message: header `Jetroute-Event-Id`, else `Nats-Msg-Id`, else
 * `<stream>:<sequence>` (unique per stored message, so only redeliveries share it).
 * @example defaultInboxKey(msg, "ORDERS") // "0f8c…" or "ORDERS:42"
 */
export function defaultInboxKey(msg: Message, stream: string): string {
  const id = msg.header(EVENT_ID_HEADER) || msg.header(MSG_ID_HEADER);
  return id ? id : `${stream}:${msg.streamSequence}`;
}

/** Longest escaped token kept as is; longer keys are hashed (see {@link kvToken}). */
export const MAX_KV_TOKEN = 160;
const SAFE = /^[-_a-zA-Z0-9]+$/;
const encoder = new TextEncoder();

/**
 * A string as one NATS KV key token, injectively: `[-_a-zA-Z0-9]` stay, every other UTF-8 byte
 * becomes `=XX` (upper-case hex; `=` itself too), so `.`, `:`, `/` and non-ASCII are safe. A
 * token longer than {@link MAX_KV_TOKEN} becomes `=_` + the base64url SHA-256 of the string
 * (45 chars): escaping never yields `=_`, so hashed and escaped tokens cannot meet.
 * @example kvToken("ORDERS:42") // "ORDERS=3A42"
 */
export function kvToken(value: string): string {
  let out: string;
  if (SAFE.test(value)) {
    out = value;
  } else {
    out = "";
    for (const ch of value) {
      if (SAFE.test(ch)) {
        out += ch;
        continue;
      }
      for (const b of encoder.encode(ch))
        out += `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  if (out.length <= MAX_KV_TOKEN) return out;
  return `=_${createHash("sha256").update(value).digest("base64url")}`;
}
