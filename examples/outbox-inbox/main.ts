// Effects exactly once, end to end: an order service and a billing service.
//
// - orders (orders.ts): `placeOrder` writes the order row and its `order.placed` envelope into
//   the outbox in ONE PostgreSQL transaction; an order that runs out of stock rolls back, and its
//   event is never sent. A relay publishes committed events to JetStream (message id = event id).
// - billing (billing.ts): a route with `withInbox(pgInbox(pool))` validates the payload with a
//   zod schema (`enveloped`) and writes the invoice on the inbox's transaction. The durable is
//   then rewound so every event is delivered again: none is billed twice. A malformed event
//   from an old producer is dead-lettered at its first delivery, its schema issues attached.
//
// It prints a summary and exits by itself; Ctrl-C stops it cleanly at any point.
//
//   npm run example outbox-inbox                 (embedded nats-server and PostgreSQL)
//   NATS_URL=nats://host:4222 DATABASE_URL=postgres://... npm run example outbox-inbox
//
// With DATABASE_URL it drops and re-creates the schemas example_orders and example_billing.
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import pg from "pg";
import {
  Broker,
  type Connection,
  connect,
  createLogger,
  createProducer,
  decodeEnvelope,
  ensureStream,
  envelope,
  type JetStreamRouteStats,
  type Logger,
  listDeadLetters,
  publishEnvelope,
  type Route,
  resetDurable,
  withConnection,
  withLogger,
  withName,
  withServers,
  withSubjects,
} from "../../src/index.js";
import { natsForExample, shutdownSignal } from "../shared/nats.js";
import { postgresForExample } from "../shared/postgres.js";
import { billingInbox, billingRoute, invoicesByOrder, migrateBilling } from "./billing.js";
import {
  migrateOrders,
  ORDER_PLACED,
  type OrderRequest,
  orderIds,
  ordersOutbox,
  outboxRows,
  placeOrder,
} from "./orders.js";

const STREAM = "SHOP_EXAMPLE";
const DLQ_STREAM = "SHOP_EXAMPLE_DLQ";
const DLQ = "dlq.shop.billing";

/** Stock: 10 apples, 5 pears. The last order asks for more pears than are left. */
const ORDERS: readonly OrderRequest[] = [
  { id: "o-1", customer: "ada", sku: "apple", quantity: 3 },
  { id: "o-2", customer: "grace", sku: "pear", quantity: 2 },
  { id: "o-3", customer: "ada", sku: "apple", quantity: 4 },
  { id: "o-4", customer: "linus", sku: "pear", quantity: 9 },
];

/** What the example saw. */
export interface OutboxInboxSummary {
  readonly placed: number;
  readonly rolledBack: number;
  readonly relayed: number;
  readonly invoices: number;
  readonly duplicatesSkipped: number;
  readonly deadLetters: number;
}

/** A stack of things to close, closed last-in first-out whatever happened. */
type Cleanup = Array<() => Promise<unknown>>;

/** Runs the example on `NATS_URL` / `DATABASE_URL`, or on embedded servers started here. */
export async function main(signal: AbortSignal): Promise<OutboxInboxSummary> {
  const log = createLogger({ base: { example: "outbox-inbox" } });
  const cleanup: Cleanup = [];
  try {
    const nats = await natsForExample();
    cleanup.push(nats.stop);
    const postgres = await postgresForExample();
    cleanup.push(postgres.stop);
    const services = await connectServices(nats.url, postgres.url, log, cleanup);
    return await run(services, log, signal, cleanup);
  } finally {
    // Every step runs, even after one failed: a server left running would outlive the example.
    for (const close of cleanup.reverse()) {
      await close().catch((err: unknown) => log.error({ err }, "cleanup failed"));
    }
  }
}

interface Services {
  readonly ordersConn: Connection;
  readonly ordersPool: pg.Pool;
  readonly billingConn: Connection;
  readonly billingPool: pg.Pool;
}

/** Each service has its own NATS connection and its own pool, as two processes would. */
async function connectServices(
  natsUrl: string,
  databaseUrl: string,
  log: Logger,
  cleanup: Cleanup,
): Promise<Services> {
  const pool = (service: string, max: number) => {
    const p = new pg.Pool({ connectionString: databaseUrl, max });
    // An idle client whose server went away emits "error"; unhandled, it would crash the process.
    p.on("error", (err) => log.warn({ service, err }, "idle PostgreSQL client failed"));
    cleanup.push(() => p.end());
    return p;
  };
  const nats = async (service: string) => {
    const c = await connect(withServers(natsUrl), withName(service), withLogger(log));
    cleanup.push(() => c.close());
    return c;
  };
  return {
    // The relay takes 3 connections (2 batches + LISTEN), placeOrder 1.
    ordersPool: pool("orders", 4),
    ordersConn: await nats("orders"),
    // One per running handler (concurrency 4), one for the example's queries.
    billingPool: pool("billing", 5),
    billingConn: await nats("billing"),
  };
}

async function run(
  s: Services,
  log: Logger,
  signal: AbortSignal,
  cleanup: Cleanup,
): Promise<OutboxInboxSummary> {
  // Nothing below waits on `signal` before the first order: notice a Ctrl-C during start-up here.
  signal.throwIfAborted();
  await migrateOrders(s.ordersPool);
  await migrateBilling(s.billingPool);
  await ensureStream(s.ordersConn, STREAM, withSubjects("shop.orders.>"));
  await ensureStream(s.ordersConn, DLQ_STREAM, withSubjects(DLQ));
  // With NATS_URL the streams and the durable outlive runs: start from empty ones.
  const jsm = await s.ordersConn.jetstreamManager();
  await jsm.streams.purge(STREAM);
  await jsm.streams.purge(DLQ_STREAM);
  await jsm.consumers.delete(STREAM, "billing").catch(() => {});

  // The order service's relay runs until the example ends (and drains its batch then).
  const outbox = ordersOutbox(s.ordersPool, createProducer(s.ordersConn), log);
  const relayStop = new AbortController();
  const relaying = outbox.relay({ signal: relayStop.signal });
  cleanup.push(() => {
    relayStop.abort();
    return relaying;
  });

  const inbox = billingInbox(s.billingPool);
  const billing = billingRoute(inbox, STREAM, ORDER_PLACED, DLQ);
  let broker = await startBroker(s.billingConn, log, billing, signal, cleanup);

  // 1. Orders: each one's row and event in one transaction.
  let rolledBack = 0;
  for (const order of ORDERS) {
    signal.throwIfAborted();
    try {
      await placeOrder(s.ordersPool, outbox, order);
      console.log(
        `placed ${order.id}: ${order.quantity} x ${order.sku}, order row and event in one transaction`,
      );
    } catch (err) {
      // 23514: check_violation, the stock's CHECK (available >= 0).
      if ((err as { code?: unknown }).code !== "23514") throw err;
      rolledBack++;
      console.log(`rolled back ${order.id}: ${(err as Error).message}; no order row, no event`);
    }
  }
  const placed = await orderIds(s.ordersPool);

  // 2. The relay publishes, billing bills: wait for every order's invoice.
  await until(async () => (await invoicesByOrder(s.billingPool)).size === placed.length, signal);
  await until(async () => (await outboxRows(s.ordersPool)).pending === 0, signal);
  const rows = await outboxRows(s.ordersPool);
  const resources = await streamResources(s.ordersConn);
  console.log(
    `relayed ${rows.sent} events from the outbox (${rows.pending} pending); the stream holds order.placed for ${resources.join(", ")}`,
  );
  console.log(`billed: ${[...(await invoicesByOrder(s.billingPool)).keys()].join(", ")}`);

  // 3. Force a redelivery of everything: billing restarts with its durable rewound to the
  //    stream's first message, as after an incident. The inbox acks each copy unrun.
  await broker.stop();
  const reset = await resetDurable(s.billingConn, STREAM, "billing", { to: 1, logger: log });
  broker = await startBroker(s.billingConn, log, billing, signal, cleanup);
  const settled = async () => {
    const info = await jsm.consumers.info(STREAM, "billing");
    return info.num_pending === 0 && info.num_ack_pending === 0;
  };
  await until(settled, signal);
  const duplicatesSkipped = broker.stats().inbox?.duplicates ?? 0;
  console.log(
    `redelivered: durable "billing" reset to seq ${reset.seq} (${reset.method}); ${broker.stats().received} events delivered again, ${duplicatesSkipped} duplicates skipped without running the handler`,
  );

  // 4. An old order service still publishes order.placed with its own payload shape: dead-lettered
  //    at the first delivery, never retried, with the schema's issues.
  const legacy = envelope({
    type: "order.placed",
    producer: "orders-v0",
    resource: { type: "order", id: "o-5" },
    payload: { orderId: "o-5", customer: "", quantity: "two" },
  });
  await publishEnvelope(createProducer(s.ordersConn), ORDER_PLACED, legacy);
  await until(async () => broker.stats().deadLettered === 1, signal);
  const letters = await listDeadLetters(s.billingConn, DLQ_STREAM, { signal });
  for (const letter of letters) {
    const event = decodeEnvelope(letter.data);
    console.log(
      `dead letter #${letter.seq}: ${event.eventType} ${event.resource?.type}/${event.resource?.id} from ${event.producer}, delivery ${letter.deliveryCount}: ${letter.error}`,
    );
    for (const issue of letter.schemaIssues ?? []) {
      console.log(`  issue ${issue.path?.join(".") ?? "(root)"}: ${issue.message}`);
    }
  }

  const invoices = await invoicesByOrder(s.billingPool);
  const summary: OutboxInboxSummary = {
    placed: placed.length,
    rolledBack,
    relayed: rows.sent,
    invoices: [...invoices.values()].reduce((a, b) => a + b, 0),
    duplicatesSkipped,
    deadLetters: letters.length,
  };
  const once = [...invoices.values()].every((n) => n === 1);
  console.log(
    `summary: orders placed ${summary.placed}, rolled back ${summary.rolledBack}, events relayed ${summary.relayed}, invoices created ${summary.invoices} (${once ? "each order billed once" : "SOME ORDER BILLED TWICE"}), duplicates skipped ${summary.duplicatesSkipped}, dead letters ${summary.deadLetters}`,
  );
  return summary;
}

interface RunningBroker {
  stats(): JetStreamRouteStats;
  stop(): Promise<void>;
}

/** Runs a billing broker until `stop()`, the caller's signal, or the example's end. */
async function startBroker(
  conn: Connection,
  log: Logger,
  billing: Route,
  signal: AbortSignal,
  cleanup: Cleanup,
): Promise<RunningBroker> {
  const controller = new AbortController();
  const broker = new Broker(withConnection(conn), withLogger(log));
  broker.register(billing);
  const running = broker.run(AbortSignal.any([controller.signal, signal]));
  const stop = async () => {
    controller.abort();
    await running;
  };
  cleanup.push(stop);
  await broker.started();
  return {
    // "billing" is a JetStream route: its stats are JetStream route stats.
    stats: () => broker.stats().billing as JetStreamRouteStats,
    stop,
  };
}

/** The resource ids of the order.placed envelopes in the stream, in stream order. */
async function streamResources(conn: Connection): Promise<string[]> {
  const jsm = await conn.jetstreamManager();
  const { state } = await jsm.streams.info(STREAM);
  const ids: string[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(STREAM, { seq });
    const event = decodeEnvelope(m?.data ?? new Uint8Array());
    ids.push(`${event.resource?.id}`);
  }
  return ids;
}

/** Polls `condition` every 50 ms until it holds; rejects when `signal` aborts first. */
async function until(condition: () => Promise<boolean>, signal: AbortSignal): Promise<void> {
  while (!(await condition())) await sleep(50, undefined, { signal });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const signal = shutdownSignal(30_000);
  try {
    await main(signal);
  } catch (err) {
    if (!signal.aborted) throw err;
    // Ctrl-C (or the deadline): everything above was closed on the way out.
    console.error(`[example] stopped before the end: ${(signal.reason as Error).message}`);
    const why = signal.reason instanceof Error ? signal.reason.message : "";
    process.exitCode = why === "SIGINT" ? 130 : why === "SIGTERM" ? 143 : 1;
  }
}
