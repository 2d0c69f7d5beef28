import type { MessageObservation, ObservedMessage } from "../observe/index.js";
import type { Inbound } from "./inbound.js";
import type { Settlement } from "./settle.js";

/** What observers see of a delivery. */
export function observed(m: Inbound): ObservedMessage {
  return {
    subject: m.msg.subject,
    headers: m.msg.headers,
    bytes: m.msg.data.length,
    deliveryCount: m.deliveryCount,
    stream: m.stream,
    seq: m.seq,
  };
}

/**
 * Reports the applied settlement. `terminated` is false when a dead letter could not be stored
 * and the message was nak'd for a retry instead; `failure` is the handler's error, if any.
 */
export function observeSettlement(
  obs: MessageObservation,
  s: Settlement,
  terminated: boolean,
  failure: unknown,
): void {
  const error = failure === undefined ? {} : { error: failure };
  switch (s.kind) {
    case "ack":
      obs.settled("acked");
      return;
    case "nak":
      obs.settled("retried", { delayMs: s.delayMs, ...error });
      return;
    case "release":
      obs.settled("released");
      return;
    case "dead-letter":
      obs.settled(terminated ? "dead_lettered" : "retried", { reason: s.reason, ...error });
      return;
    // withInbox's verdicts: the handler did not run.
    case "skip":
      obs.settled("skipped");
      return;
    default:
      s satisfies never;
  }
}
