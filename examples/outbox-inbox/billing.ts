// The billing service: a JetStream route that bills each placed order exactly once. The payload
// is validated by a zod schema (any Standard Schema works), and the invoice is written on the
// inbox's transaction, so the invoice and the inbox row commit together or not at all: a
// second delivery of the same event finds the row and is acked without running the handler.
import type pg from "pg";
import { z } from "zod";
import {
  enveloped,
  migrateInbox,
  type PgInbox,
  pgInbox,
  type Route,
  route,
  withConcurrency,
  withDLQ,
  withDurable,
  withInbox,
  withStream,
  withSubject,
} from "../../src/index.js";

export const BILLING_SCHEMA = "example_billing";
export const INBOX_TABLE = `${BILLING_SCHEMA}.inbox`;

/** What billing accepts in an `order.placed` envelope: its own view of the order service's event. */
export const OrderPlaced = z.object({
  orderId: z.string().min(1),
  customer: z.string().min(1),
  quantity: z.number().int().positive(),
  totalCents: z.number().int().nonnegative(),
});

/** Creates the service's tables (from scratch: the example starts from empty ones) and its inbox. */
export async function migrateBilling(pool: pg.Pool): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${BILLING_SCHEMA} CASCADE`);
  await pool.query(`CREATE SCHEMA ${BILLING_SCHEMA}`);
  // No UNIQUE on order_id on purpose: the inbox alone keeps an order from being billed twice.
  await pool.query(`
    CREATE TABLE ${BILLING_SCHEMA}.invoices (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_id text NOT NULL,
      customer text NOT NULL,
      amount_cents integer NOT NULL,
      event_id text NOT NULL
    )
  `);
  await migrateInbox(pool, { table: INBOX_TABLE });
}

/** The billing route on `stream`: `order.placed` envelopes in, one invoice per order out. */
export function billingRoute(
  inbox: PgInbox<pg.PoolClient>,
  stream: string,
  subject: string,
  dlq: string,
): Route {
  return route(
    "billing",
    enveloped(OrderPlaced, async (event, _msg, ctx) => {
      const order = event.payload; // typed and validated by OrderPlaced
      await inbox
        .transaction(ctx)
        .query(
          `INSERT INTO ${BILLING_SCHEMA}.invoices (order_id, customer, amount_cents, event_id) VALUES ($1, $2, $3, $4)`,
          [order.orderId, order.customer, order.totalCents, event.eventId],
        );
      ctx.logger.info({ orderId: order.orderId, eventId: event.eventId }, "invoice created");
    }),
    withStream(stream),
    withSubject(subject),
    withDurable("billing"),
    withConcurrency(4),
    withInbox(inbox),
    // A payload that fails OrderPlaced is dead-lettered at its first delivery, issues attached.
    withDLQ(dlq),
  );
}

/** The billing store: the PostgreSQL inbox on the service's own table. */
export function billingInbox(pool: pg.Pool): PgInbox<pg.PoolClient> {
  return pgInbox(pool, { table: INBOX_TABLE });
}

/** Invoices per order id. */
export async function invoicesByOrder(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ order_id: string; n: string }>(
    `SELECT order_id, count(*) AS n FROM ${BILLING_SCHEMA}.invoices GROUP BY order_id ORDER BY order_id`,
  );
  return new Map(rows.map((r) => [r.order_id, Number(r.n)]));
}
