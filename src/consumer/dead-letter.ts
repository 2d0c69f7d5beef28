import type { JsMsg } from "@nats-io/jetstream";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/nats-core";
import type { Connection } from "../conn/types.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";

/** Headers jetroute adds to every dead letter, so it can be traced back and replayed. */
export const DeadLetterHeader = {
  OriginalSubject: "Jetroute-Original-Subject",
  Stream: "Jetroute-Stream",
  Sequence: "Jetroute-Sequence",
  DeliveryCount: "Jetroute-Delivery-Count",
  Error: "Jetroute-Error",
  Route: "Jetroute-Route",
  Time: "Jetroute-Time",
} as const;
export type DeadLetterHeader = (typeof DeadLetterHeader)[keyof typeof DeadLetterHeader];

/** What dead-lettering needs from the engine. */
export interface DeadLetterDeps {
  readonly conn: Connection;
  readonly spec: JetStreamRouteSpec;
  readonly logger: Logger;
  /** `term(reason)` only where the server honours it (>= 2.10.4); 2.9 ignores `+TERM <reason>`. */
  readonly termWithReason: boolean;
  /** Redelivery delay when the DLQ publish fails. */
  readonly retryDelayMs: number;
}

/** True when the server understands `+TERM <reason>` (2.10.4 and later). */
export function supportsTermReason(version: readonly [number, number, number]): boolean {
  const [major, minor, patch] = version;
  if (major !== 2) return major > 2;
  if (minor !== 10) return minor > 10;
  return patch >= 4;
}

/**
 * The dead letter's headers: the original ones, minus `Nats-*` server directives (an
 * `Nats-Expected-Last-Sequence` copied over would make the DLQ publish fail; `Nats-Msg-Id` is
 * replaced by ours), plus the `Jetroute-*` trace headers.
 */
export function deadLetterHeaders(m: JsMsg, spec: JetStreamRouteSpec, reason: string): MsgHdrs {
  const h = natsHeaders();
  if (m.headers) {
    for (const [key, values] of m.headers) {
      if (key.toLowerCase().startsWith("nats-")) continue;
      for (const v of values) h.append(key, v);
    }
  }
  h.set(DeadLetterHeader.OriginalSubject, m.subject);
  h.set(DeadLetterHeader.Stream, m.info.stream);
  h.set(DeadLetterHeader.Sequence, String(m.seq));
  h.set(DeadLetterHeader.DeliveryCount, String(m.info.deliveryCount));
  // Header values are one line; a multi-line error message would corrupt the frame.
  h.set(DeadLetterHeader.Error, reason.replace(/[\r\n]+/g, " "));
  h.set(DeadLetterHeader.Route, spec.name);
  h.set(DeadLetterHeader.Time, new Date().toISOString());
  return h;
}

/**
 * Gives up on a message. With a DLQ: publish the original payload and headers there (msgID
 * `stream:seq`, so a re-run after a crash never stores it twice), wait for the PubAck, and only
 * then terminate; a failed publish naks instead, so the message is never lost. Without a DLQ:
 * terminate and log the reason. Resolves true when the message was terminated (settled for
 * good), false when it was nak'd for another try.
 */
export async function deadLetter(m: JsMsg, reason: string, deps: DeadLetterDeps): Promise<boolean> {
  const { spec, logger } = deps;
  // seq and deliveryCount are already bound on the per-message logger the engine passes in.
  const fields = { reason };
  if (spec.dlq !== undefined) {
    try {
      await deps.conn.jetstream.publish(spec.dlq, m.data, {
        msgID: `${m.info.stream}:${m.seq}`,
        headers: deadLetterHeaders(m, spec, reason),
      });
    } catch (err) {
      logger.error(
        { ...fields, err, dlq: spec.dlq, retryInMs: deps.retryDelayMs },
        "dead-letter publish failed; message will be redelivered",
      );
      m.nak(deps.retryDelayMs);
      return false;
    }
    logger.warn({ ...fields, dlq: spec.dlq }, "message dead-lettered");
  } else {
    logger.error(fields, "message terminated (route has no DLQ)");
  }
  if (deps.termWithReason) m.term(reason);
  else m.term();
  return true;
}
