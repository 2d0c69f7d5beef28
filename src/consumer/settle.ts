import { causeText } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec, Outcome } from "../router/types.js";
import type { HandlerResult } from "../runtime/index.js";
import type { SchemaIssue } from "../schema/issues.js";

/** What the engine does with a message. */
export type Settlement =
  | { readonly kind: "ack" }
  /** Redeliver after `delayMs` (JetStream `nak(delay)`). */
  | { readonly kind: "nak"; readonly delayMs: number }
  /** Hand back without a verdict (bare `nak`): the handler never ran or was stopped by shutdown. */
  | { readonly kind: "release" }
  /**
   * Copy to the DLQ (when the route has one), then terminate. `issues`: why the payload is
   * invalid (a `reject()` with issues: `validated()`, `enveloped()`), stored in the dead
   * letter's `Jetroute-Schema-Issues` header.
   */
  | {
      readonly kind: "dead-letter";
      readonly reason: string;
      readonly issues?: readonly SchemaIssue[];
    }
  /** withInbox: the key was processed before: ack without running the handler. */
  | { readonly kind: "skip" };

/** Used when a backoff strategy throws or returns nonsense: a retry must still be delayed. */
export const FALLBACK_DELAY_MS = 1000;

/**
 * Deliveries beyond `maxDeliver` a message may have before the engine dead-letters it without
 * running its handler. Releases at shutdown (bare naks of messages whose handler never ran, or
 * was interrupted) raise the server's delivery count too, so the check before a run cannot be
 * at `maxDeliver` itself (it would dead-letter released messages unhandled); it exists for the
 * handler that kills its process on every delivery, which never settles at all: such a message
 * reaches the DLQ on delivery `maxDeliver + UNSETTLED_DELIVERY_ALLOWANCE + 1`.
 */
export const UNSETTLED_DELIVERY_ALLOWANCE = 5;

const ACK: Settlement = Object.freeze({ kind: "ack" });
const RELEASE: Settlement = Object.freeze({ kind: "release" });

/** True when a failure on this delivery is the last allowed (`maxDeliver` -1 means never). */
export function isFinalDelivery(spec: JetStreamRouteSpec, deliveryCount: number): boolean {
  return spec.maxDeliver !== -1 && deliveryCount >= spec.maxDeliver;
}

/**
 * The settlement decided before a handler runs, or undefined to run it: messages whose
 * deliveries never settled (see {@link UNSETTLED_DELIVERY_ALLOWANCE}) go to the dead letters.
 */
export function beforeRun(spec: JetStreamRouteSpec, deliveryCount: number): Settlement | undefined {
  if (spec.maxDeliver === -1) return undefined;
  const limit = spec.maxDeliver + UNSETTLED_DELIVERY_ALLOWANCE;
  if (deliveryCount <= limit) return undefined;
  return {
    kind: "dead-letter",
    reason: `delivered ${deliveryCount} times without settling (maxDeliver ${spec.maxDeliver} + ${UNSETTLED_DELIVERY_ALLOWANCE} unsettled deliveries)`,
  };
}

/**
 * The route's backoff for a failed delivery. A strategy that throws or returns a non-finite or
 * negative number is a bug in user code, not a reason to redeliver at once (a hot loop): log
 * it and wait {@link FALLBACK_DELAY_MS}.
 */
export function backoffDelay(
  spec: JetStreamRouteSpec,
  deliveryCount: number,
  logger: Logger,
): number {
  try {
    const delay = spec.backoff(deliveryCount);
    if (Number.isFinite(delay) && delay >= 0) return Math.round(delay);
    logger.error({ delay, deliveryCount }, "backoff returned an invalid delay; using 1000 ms");
  } catch (err) {
    logger.error({ err, deliveryCount }, "backoff threw; using 1000 ms");
  }
  return FALLBACK_DELAY_MS;
}

/**
 * The settlement table: a handler's result and the delivery count -> what happens to the
 * message. Pure apart from the backoff call.
 *
 * | result                       | not the final delivery   | final delivery (`>= maxDeliver`) |
 * | ---------------------------- | ------------------------ | -------------------------------- |
 * | value, `ack()`               | ack                      | ack                              |
 * | `retry(delay?)`              | nak(delay ?? backoff)    | dead-letter                      |
 * | `reject(reason, {issues?})`  | dead-letter (+ issues)   | dead-letter (+ issues)           |
 * | thrown, policy "retry"       | nak(backoff)             | dead-letter                      |
 * | thrown, policy "terminate"   | dead-letter              | dead-letter                      |
 * | interrupted by shutdown      | release                  | release                          |
 */
export function decideSettlement(
  result: HandlerResult,
  deliveryCount: number,
  spec: JetStreamRouteSpec,
  logger: Logger,
): Settlement {
  // The common case first: no closures per message.
  if (result.kind === "value") return ACK;
  const retryOrDeadLetter = (delayMs: number | undefined, why: string): Settlement =>
    isFinalDelivery(spec, deliveryCount)
      ? { kind: "dead-letter", reason: `${why} (delivery ${deliveryCount} of ${spec.maxDeliver})` }
      : { kind: "nak", delayMs: delayMs ?? backoffDelay(spec, deliveryCount, logger) };
  switch (result.kind) {
    case "interrupted":
      return RELEASE;
    case "outcome":
      return settleOutcome(result.outcome, retryOrDeadLetter);
    case "error":
      return spec.errorPolicy === "retry"
        ? retryOrDeadLetter(undefined, causeText(result.error))
        : { kind: "dead-letter", reason: causeText(result.error) };
  }
}

function settleOutcome(
  outcome: Outcome,
  retryOrDeadLetter: (delayMs: number | undefined, why: string) => Settlement,
): Settlement {
  switch (outcome.kind) {
    case "ack":
      return ACK;
    case "retry":
      return retryOrDeadLetter(outcome.delayMs, "retries exhausted");
    case "reject":
      return outcome.issues === undefined
        ? { kind: "dead-letter", reason: outcome.reason }
        : { kind: "dead-letter", reason: outcome.reason, issues: outcome.issues };
  }
}
