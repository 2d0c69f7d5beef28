import type { Msg } from "@nats-io/nats-core";
import type { MessageObservation, ObservedMessage } from "../observe/index.js";
import type { HandlerResult } from "../runtime/index.js";
import type { Reply } from "./reply.js";

/** What observers see of a core message. */
export function observed(raw: Msg): ObservedMessage {
  return { subject: raw.subject, headers: raw.headers, bytes: raw.data.length, deliveryCount: 1 };
}

/**
 * Reports a core message's outcome: `error` when the handler failed or a request was answered
 * with an error reply (its code and description given), `ok` otherwise.
 */
export function observeResult(
  obs: MessageObservation,
  result: HandlerResult,
  reply: Reply | undefined,
): void {
  const error = result.kind === "error" ? { error: result.error } : {};
  if (reply?.kind === "error") {
    obs.settled("error", { replyCode: reply.code, replyDescription: reply.description, ...error });
  } else if (result.kind === "error") {
    obs.settled("error", error);
  } else {
    obs.settled("ok");
  }
}
