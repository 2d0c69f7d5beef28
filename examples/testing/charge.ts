// The service under test: a JetStream route that charges payment requests. A declined card is
// rejected (dead-lettered at once), a gateway outage retried with backoff, a charge announced
// on `payments.charged`.
import {
  fixed,
  type Route,
  reject,
  retry,
  route,
  withBackoff,
  withDLQ,
  withMaxDeliver,
  withStream,
  withSubject,
} from "../../src/index.js";

export interface PaymentRequest {
  readonly orderId: number;
  readonly card: string;
  readonly cents: number;
}

/** What the route talks to; tests pass a fake. */
export interface Gateway {
  charge(card: string, cents: number): Promise<"ok" | "declined" | "unavailable">;
}

/** Where the route lives; tests give unique names so they can share a server. */
export interface ChargeNames {
  readonly stream: string;
  readonly subject: string;
  readonly dlq: string;
  readonly charged: string;
}

export const DEFAULT_NAMES: ChargeNames = {
  stream: "PAYMENTS",
  subject: "payments.requested",
  dlq: "dlq.payments",
  charged: "payments.charged",
};

/** The charge route. */
export function chargeRoute(gateway: Gateway, names: ChargeNames = DEFAULT_NAMES): Route {
  return route(
    "charge",
    async (msg, ctx) => {
      const req = msg.json<PaymentRequest>();
      const result = await gateway.charge(req.card, req.cents);
      if (result === "declined") return reject(`card declined for order ${req.orderId}`);
      if (result === "unavailable") return retry();
      // Core NATS: an announcement for whoever listens now, no stream needed.
      ctx.producer.publish(names.charged, { orderId: req.orderId });
      return undefined;
    },
    withStream(names.stream),
    withSubject(names.subject),
    withDLQ(names.dlq),
    withMaxDeliver(3),
    withBackoff(fixed("100ms")),
  );
}
