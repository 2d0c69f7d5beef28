// The order service: an order row and its `order.placed` event written in ONE PostgreSQL
// transaction (the transactional outbox), and a relay that publishes committed events to
// JetStream. The event exists if and only if the order does.
import type pg from "pg";
import {
  createOutbox,
  EnvelopeHeader,
  encodeEnvelope,
  envelopeFactory,
  type Logger,
  migrateOutbox,
  type Outbox,
  type Producer,
  withOutboxLogger,
  withOutboxTable,
} from "../../src/index.js";

/** The order service's own schema: its tables and its outbox live together. */
export const ORDERS_SCHEMA = "example_orders";
export const OUTBOX_TABLE = `${ORDERS_SCHEMA}.outbox`;
export const ORDER_PLACED = "shop.orders.placed";

/** What billing receives in the envelope's payload. */
export interface OrderPlaced {
  readonly orderId: string;
  readonly customer: string;
  readonly sku: string;
  readonly quantity: number;
  readonly totalCents: number;
}

export interface OrderRequest {
  readonly id: string;
  readonly customer: string;
  readonly sku: string;
  readonly quantity: number;
}

/** Creates the service's tables (from scratch: the example starts from empty ones) and its outbox. */
export async function migrateOrders(pool: pg.Pool): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${ORDERS_SCHEMA} CASCADE`);
  await pool.query(`CREATE SCHEMA ${ORDERS_SCHEMA}`);
  await pool.query(`
    CREATE TABLE ${ORDERS_SCHEMA}.stock (
      sku text PRIMARY KEY,
      price_cents integer NOT NULL,
      available integer NOT NULL CHECK (available >= 0)
    );
    CREATE TABLE ${ORDERS_SCHEMA}.orders (
      id text PRIMARY KEY,
      customer text NOT NULL,
      sku text NOT NULL REFERENCES ${ORDERS_SCHEMA}.stock,
      quantity integer NOT NULL,
      total_cents integer NOT NULL,
      placed_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO ${ORDERS_SCHEMA}.stock VALUES ('apple', 45, 10), ('pear', 60, 5);
  `);
  await migrateOutbox(pool, { table: OUTBOX_TABLE });
}

/** The service's outbox: its table, and the producer the relay publishes through. */
export function ordersOutbox(pool: pg.Pool, producer: Producer, log: Logger): Outbox {
  return createOutbox(pool, producer, withOutboxTable(OUTBOX_TABLE), withOutboxLogger(log));
}

const orderEvent = envelopeFactory({ producer: "orders" });

/**
 * Places an order: in one transaction, insert the order, enqueue its `order.placed` envelope
 * in the outbox, and take the items from stock. When stock runs short the CHECK constraint
 * fails the UPDATE and everything rolls back, the outbox row included: no event is ever sent.
 * Resolves with the event id; rejects with the database's error after the rollback.
 */
export async function placeOrder(
  pool: pg.Pool,
  outbox: Outbox,
  order: OrderRequest,
): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<{ price_cents: number }>(
      `SELECT price_cents FROM ${ORDERS_SCHEMA}.stock WHERE sku = $1`,
      [order.sku],
    );
    const totalCents = (rows[0]?.price_cents ?? 0) * order.quantity;
    await client.query(
      `INSERT INTO ${ORDERS_SCHEMA}.orders (id, customer, sku, quantity, total_cents) VALUES ($1, $2, $3, $4, $5)`,
      [order.id, order.customer, order.sku, order.quantity, totalCents],
    );
    const event = orderEvent<OrderPlaced>({
      type: "order.placed",
      resource: { type: "order", id: order.id },
      payload: {
        orderId: order.id,
        customer: order.customer,
        sku: order.sku,
        quantity: order.quantity,
        totalCents,
      },
    });
    // docs/outbox.md, "Envelopes": the event id is the row id and so the JetStream message id,
    // and the header is what the billing side's inbox keys on.
    await outbox.enqueue(client, {
      id: event.eventId,
      subject: ORDER_PLACED,
      payload: encodeEnvelope(event),
      headers: { [EnvelopeHeader.EventId]: event.eventId },
    });
    await client.query(
      `UPDATE ${ORDERS_SCHEMA}.stock SET available = available - $2 WHERE sku = $1`,
      [order.sku, order.quantity],
    );
    await client.query("COMMIT");
    return event.eventId;
  } catch (err) {
    await client.query("ROLLBACK");
    throw err;
  } finally {
    client.release();
  }
}

/** Rows of the outbox: sent and pending. */
export async function outboxRows(pool: pg.Pool): Promise<{ sent: number; pending: number }> {
  const { rows } = await pool.query<{ sent: string; pending: string }>(
    `SELECT count(sent_at) AS sent, count(*) - count(sent_at) AS pending FROM ${OUTBOX_TABLE}`,
  );
  return { sent: Number(rows[0]?.sent ?? 0), pending: Number(rows[0]?.pending ?? 0) };
}

/** Ids of the orders in the table. */
export async function orderIds(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM ${ORDERS_SCHEMA}.orders ORDER BY id`,
  );
  return rows.map((r) => r.id);
}
