import { JetStreamApiError } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import {
  causeText,
  ErrConnectionClosed,
  ErrNoResponders,
  ErrPublishFailed,
  ErrRequestTimeout,
  type JetrouteError,
} from "../errors/index.js";

/**
 * What a failed publish or request means for the caller:
 * - `expectation`: the server refused an `expect*` condition; retrying cannot help.
 * - `noResponders`: nothing listens (no stream, or its leader is being elected).
 * - `unavailable`: JetStream answered 503 (temporarily unavailable).
 * - `timeout`: no answer in time; the message may or may not have been stored.
 * - `closed`: the connection is closed or draining.
 * - `tooLarge`: larger than the server's `max_payload` (nats.js refuses it before sending) or
 *   the stream's `max_msg_size` (api error 10054); the same bytes can never be stored.
 * - `permission`: the server refused the publish (permissions violation).
 * - `full`: the stream is at a limit and discards new messages (api error 10077 "maximum
 *   messages / bytes exceeded"); retrying soon cannot help.
 * - `unsent`: nothing was published (UnsentError); retrying cannot store a message twice.
 * - `other`: anything else (limits, bad arguments, ...).
 */
export type FailureKind =
  | "expectation"
  | "noResponders"
  | "unavailable"
  | "timeout"
  | "closed"
  | "tooLarge"
  | "permission"
  | "full"
  | "unsent"
  | "other";

/** A publish that never left: the reply subscription was not confirmed in time. */
export class UnsentError extends Error {
  override readonly name = "UnsentError";
}

// JetStream api err_codes for failed publish expectations (nats-server errors.json).
const EXPECTATION_CODES = new Set([
  10060, // expected stream does not match
  10070, // wrong last msg id
  10071, // wrong last sequence
  10164, // wrong last sequence (unknown), 2.11+
]);

/**
 * JSStreamMessageExceedsMaximumErr "message size exceeds maximum allowed" (stream max_msg_size),
 * JSStreamHeaderExceedsMaximumErr "header size exceeds maximum allowed of 64k".
 */
const TOO_LARGE_CODES = new Set([10054, 10097]);

/** JSStreamStoreFailedF: the store refused the message; "maximum ... exceeded" is a full stream. */
const STORE_FAILED_CODE = 10077;

/** Classifies a nats.js error by walking its cause chain (nats.js wraps freely). */
export function classifyFailure(err: unknown): FailureKind {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    if (e instanceof JetStreamApiError) {
      if (EXPECTATION_CODES.has(e.code)) return "expectation";
      if (TOO_LARGE_CODES.has(e.code)) return "tooLarge";
      if (e.code === STORE_FAILED_CODE && /maximum .*exceeded/i.test(e.message)) return "full";
      return e.status === 503 ? "unavailable" : "other";
    }
    if (e instanceof UnsentError) return "unsent";
    if (e instanceof NoRespondersError) return "noResponders";
    if (e instanceof TimeoutError) return "timeout";
    if (e instanceof ClosedConnectionError || e instanceof DrainingConnectionError) return "closed";
    // nats.js 3.4 fails requests pending when the connection closes with a bare RequestError
    // (muxsubscription.ts `close`), no ClosedConnectionError in its causes.
    if (e instanceof RequestError && e.message === "connection closed") return "closed";
    if (e instanceof PermissionViolationError) return "permission";
    // nats.js 3.4 has no class of its own for this one (protocol.ts `publish`).
    if (e instanceof InvalidArgumentError && e.message.includes("max_payload")) return "tooLarge";
    e = e.cause;
  }
  return "other";
}

/** A core publish or request failure as the typed error callers branch on. */
export function natsFailure(
  op: "publish" | "request",
  subject: string,
  err: unknown,
): JetrouteError {
  switch (classifyFailure(err)) {
    case "noResponders":
      return new ErrNoResponders(`no responders for "${subject}"`, { cause: err });
    case "timeout":
      return new ErrRequestTimeout(`no reply from "${subject}" in time`, { cause: err });
    case "closed":
      return new ErrConnectionClosed(`${op} to "${subject}": connection closed`, { cause: err });
    default:
      return new ErrPublishFailed(`${op} to "${subject}" failed: ${causeText(err)}`, {
        cause: err,
      });
  }
}

/**
 * The final error of a JetStream publish: ErrPublishFailed, whose cause is ErrNoResponders or
 * ErrRequestTimeout when that is why (so `isJetrouteError(err, ErrorCode.NoResponders)` holds),
 * else the nats.js error. A closed connection is ErrConnectionClosed.
 */
export function jetStreamFailure(
  subject: string,
  err: unknown,
  kind: FailureKind,
  attempts: number,
): JetrouteError {
  const tries = `${attempts} attempt${attempts === 1 ? "" : "s"}`;
  if (kind === "closed") {
    return new ErrConnectionClosed(`publish to "${subject}": connection closed`, { cause: err });
  }
  let cause: unknown = err;
  if (kind === "noResponders") {
    cause = new ErrNoResponders(`no stream listens on "${subject}"`, { cause: err });
  } else if (kind === "timeout") {
    cause = new ErrRequestTimeout(`no ack for "${subject}" in time`, { cause: err });
  }
  return new ErrPublishFailed(
    `JetStream publish to "${subject}" failed after ${tries}: ${causeText(cause)}`,
    { cause },
  );
}
