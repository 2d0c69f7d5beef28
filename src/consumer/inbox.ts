import { causeText } from "../errors/index.js";
import type { Gated } from "../inbox/gate.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { backoffDelay, decideSettlement, isFinalDelivery, type Settlement } from "./settle.js";

const SKIP: Settlement = Object.freeze({ kind: "skip" });

/**
 * The settlement of a delivery that went through the route's inbox:
 *
 * | inbox verdict                      | settlement                                          |
 * | ---------------------------------- | --------------------------------------------------- |
 * | the handler ran                    | the settlement table (decideSettlement)             |
 * | processed before (duplicate)       | ack, the handler not run                            |
 * | the key function failed            | a thrown handler error (the route's error policy)   |
 * | the store failed after the handler | nak(backoff); dead-letter on the final delivery     |
 *
 * A key another consumer holds, and a store that does not answer before the handler ran, are
 * waited for in the gate (src/inbox/gate.ts), holding the message: no delivery is used up.
 */
export function inboxSettlement(
  gated: Gated,
  deliveryCount: number,
  spec: JetStreamRouteSpec,
  log: Logger,
): Settlement {
  switch (gated.kind) {
    case "ran":
      return decideSettlement(gated.result, deliveryCount, spec, log);
    case "duplicate":
      return SKIP;
    case "bad-key":
      return decideSettlement({ kind: "error", error: gated.error }, deliveryCount, spec, log);
    case "store-failed":
      // Not the handler's failure: retried whatever the error policy, like retry().
      return isFinalDelivery(spec, deliveryCount)
        ? {
            kind: "dead-letter",
            reason: `inbox store failed: ${causeText(gated.error)} (delivery ${deliveryCount} of ${spec.maxDeliver})`,
          }
        : { kind: "nak", delayMs: backoffDelay(spec, deliveryCount, log) };
  }
}
