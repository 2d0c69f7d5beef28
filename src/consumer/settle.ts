import { match } from "ts-pattern";
import { causeText } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec, Outcome } from "../router/types.js";
import type { HandlerResult } from "../runtime/index.js";

/** What the engine does with a message once its handler has finished. */
export type Settlement =
  | { readonly kind: "ack" }
  /** Redeliver after `delayMs` (JetStream `nak(delay)`). */
  | { readonly kind: "nak"; readonly delayMs: number }
  /** Copy to the DLQ (when the route has one), then terminate. */
  | { readonly kind: "dead-letter"; readonly reason: string }
  /**
   * Hand back unprocessed (a bare nak: redelivered at once to the next consumer), counted as
   * `released`: the shutdown interrupted the handler, which is not a failure of the message.
   */
  | { readonly kind: "release" };

/** Used when a backoff strategy throws or returns nonsense: a retry must still be delayed. */
export const FALLBACK_DELAY_MS = 1000;

const ACK: Settlement = Object.freeze({ kind: "ack" });
const RELEASE: Settlement = Object.freeze({ kind: "release" });

/** True when a failure on this delivery is the last allowed (`maxDeliver` -1 means never). */
export function isFinalDelivery(spec: JetStreamRouteSpec, deliveryCount: number): boolean {
  return spec.maxDeliver !== -1 && deliveryCount >= spec.maxDeliver;
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
 * Maps a handler's result to what happens to the message. Pure apart from the backoff call;
 * errors are reported by the handler runtime. An `interrupted` result (the shutdown grace
 * ended) is released whatever the error policy or delivery count: stopping the service must
 * never dead-letter a healthy message.
 */
export function decideSettlement(
  result: HandlerResult,
  deliveryCount: number,
  spec: JetStreamRouteSpec,
  logger: Logger,
): Settlement {
  // The common case, without the closures and matchers below (a measurable per-message cost).
  if (result.kind === "value") return ACK;
  const retryOrDeadLetter = (delayMs: number | undefined, why: string): Settlement =>
    isFinalDelivery(spec, deliveryCount)
      ? { kind: "dead-letter", reason: `${why} (delivery ${deliveryCount} of ${spec.maxDeliver})` }
      : { kind: "nak", delayMs: delayMs ?? backoffDelay(spec, deliveryCount, logger) };

  return match(result)
    .with({ kind: "outcome" }, ({ outcome }) => settleOutcome(outcome, retryOrDeadLetter))
    .with({ kind: "interrupted" }, () => RELEASE)
    .with({ kind: "error" }, ({ error }) =>
      match(spec.errorPolicy)
        .with("retry", () => retryOrDeadLetter(undefined, causeText(error)))
        .with("terminate", (): Settlement => ({ kind: "dead-letter", reason: causeText(error) }))
        .exhaustive(),
    )
    .exhaustive();
}

function settleOutcome(
  outcome: Outcome,
  retryOrDeadLetter: (delayMs: number | undefined, why: string) => Settlement,
): Settlement {
  return match(outcome)
    .with({ kind: "ack" }, () => ACK)
    .with({ kind: "retry" }, ({ delayMs }) => retryOrDeadLetter(delayMs, "retries exhausted"))
    .with({ kind: "reject" }, ({ reason }): Settlement => ({ kind: "dead-letter", reason }))
    .exhaustive();
}
