// A work-queue service: orders arrive on a JetStream stream and a Broker fulfils them with
// bounded concurrency, exponential backoff and a dead-letter queue. A producer publishes a batch
// that includes a flaky order (succeeds on retry), a rejected order, a cursed order (fails on
// every delivery) and a payload that is not JSON; the three poison messages end in the DLQ,
// which is read back at the end. Ctrl-C drains and exits; run non-interactively, the service
// stops by itself once every message is settled (or after `maxTimeMs`).
//
//   npm run example work-queue            (embedded nats-server)
//   NATS_URL=nats://host:4222 npm run example work-queue
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  ack,
  Broker,
  type Connection,
  causeText,
  connect,
  createLogger,
  createProducer,
  DeadLetterHeader,
  ensureStream,
  exponential,
  type Logger,
  reject,
  route,
  withAckWait,
  withBackoff,
  withConcurrency,
  withConnection,
  withDLQ,
  withDurable,
  withLogger,
  withMaxAge,
  withMaxDeliver,
  withName,
  withRetention,
  withServers,
  withShutdownTimeout,
  withStream,
  withSubject,
  withSubjects,
} from "../../src/index.js";
import { natsForExample, shutdownSignal } from "../shared/nats.js";

/** The order this service fulfils. */
export interface Order {
  readonly id: string;
  readonly sku: string;
  readonly quantity: number;
}

/** A dead letter as read back from the DLQ stream. */
export interface DeadLetterView {
  readonly seq: number;
  readonly body: string;
  /** The `Jetroute-*` headers the engine added. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What one run did; `npm run demo` prints it. */
export interface WorkQueueSummary {
  /** Orders newly stored by the producer. */
  readonly published: number;
  /** Publishes the stream de-duplicated (same `Nats-Msg-Id`): nothing new stored. */
  readonly duplicates: number;
  /** Orders fulfilled (handler succeeded, message acked). */
  readonly processed: number;
  /** Deliveries after the first: retries of failed attempts. */
  readonly redeliveries: number;
  readonly deadLetters: readonly DeadLetterView[];
  /** True when the run ended on `maxTimeMs` or the caller's signal before all work settled. */
  readonly unfinished: boolean;
}

/** Options of {@link main}. */
export interface WorkQueueOptions {
  /** NATS server to use. @default `NATS_URL`, else an embedded nats-server */
  readonly url?: string;
  readonly logger?: Logger;
  /** Stop even if work is left (it stays in the stream for the next run). @default 30000 */
  readonly maxTimeMs?: number;
}

export const ORDERS_STREAM = "ORDERS";
export const DLQ_STREAM = "ORDERS_DLQ";
export const ORDER_SUBJECT = "orders.created";
export const DLQ_SUBJECT = "dlq.orders";
const MAX_DELIVER = 3;

class WarehouseUnavailable extends Error {
  override readonly name = "WarehouseUnavailable";
}

/**
 * Runs the service and the producer until every published message is settled (acked or
 * dead-lettered), `signal` aborts, or `maxTimeMs` passes; then drains and returns a summary.
 * @example const summary = await main(shutdownSignal());
 */
export async function main(
  signal: AbortSignal,
  options: WorkQueueOptions = {},
): Promise<WorkQueueSummary> {
  const log = options.logger ?? createLogger({ base: { service: "work-queue" } });
  const nats = options.url === undefined ? await natsForExample() : undefined;
  const url = options.url ?? nats?.url ?? "";
  const conn = await connect(withServers(url), withName("work-queue"), withLogger(log));
  try {
    return await serve(conn, log, signal, options.maxTimeMs ?? 30_000);
  } finally {
    await conn.close();
    await nats?.stop();
  }
}

async function serve(
  conn: Connection,
  log: Logger,
  signal: AbortSignal,
  maxTimeMs: number,
): Promise<WorkQueueSummary> {
  // Work-queue retention: an acked (or terminated) message is deleted, which is why the engine
  // copies a poison message to the DLQ before it terminates it.
  await ensureStream(
    conn,
    ORDERS_STREAM,
    withSubjects("orders.>"),
    withRetention("workqueue"),
    withMaxAge("24h"),
  );
  await ensureStream(conn, DLQ_STREAM, withSubjects(DLQ_SUBJECT), withMaxAge("168h"));
  const jsm = await conn.jetstreamManager();
  // The DLQ outlives runs (with NATS_URL): only letters after this sequence are this run's.
  const dlqBaseline = (await jsm.streams.info(DLQ_STREAM)).state.last_seq;

  let processed = 0;
  let redeliveries = 0;
  const fulfil = route(
    "fulfil",
    async (msg, ctx) => {
      if (msg.deliveryCount > 1) redeliveries++;
      let order: Order;
      try {
        order = msg.json<Order>();
      } catch (err) {
        // Bad JSON never gets better: dead-letter it now instead of retrying it.
        return reject(`malformed order: ${causeText(err)}`);
      }
      if (!(order.quantity >= 1)) return reject(`order ${order.id}: quantity must be at least 1`);
      // A dependency that fails once: a thrown error is retried with the route's backoff.
      if (order.sku === "FLAKY" && msg.deliveryCount === 1) {
        throw new WarehouseUnavailable(`warehouse timed out reserving ${order.sku}`);
      }
      // One that always fails: retried until maxDeliver, then dead-lettered.
      if (order.sku === "CURSED") {
        throw new WarehouseUnavailable(`warehouse refuses sku ${order.sku}`);
      }
      await sleep(20, undefined, { signal: ctx.signal }); // the real work
      processed++;
      ctx.logger.info({ orderId: order.id, sku: order.sku }, "order processed");
      return ack(); // returning nothing acks too
    },
    withStream(ORDERS_STREAM),
    withSubject(ORDER_SUBJECT),
    withDurable("fulfilment"),
    withConcurrency(4),
    withMaxDeliver(MAX_DELIVER),
    withAckWait("30s"),
    withBackoff(exponential({ initial: "200ms", max: "2s", jitter: 0.2 })),
    withDLQ(DLQ_SUBJECT),
  );

  const stop = new AbortController();
  const onCaller = () => stop.abort(signal.reason);
  if (signal.aborted) onCaller();
  else signal.addEventListener("abort", onCaller, { once: true });
  let unfinished = false;
  const deadline = setTimeout(() => {
    unfinished = true;
    log.warn({ maxTimeMs }, "max time reached with work left; stopping");
    stop.abort(new Error("max time reached"));
  }, maxTimeMs);

  const broker = new Broker(withConnection(conn), withLogger(log), withShutdownTimeout("10s"));
  broker.register(fulfil);
  const running = broker.run(stop.signal);
  try {
    await broker.started();
    const { published, duplicates, good, poison } = await publishOrders(conn, log);
    // Settled = acked, or dead-lettered (the DLQ copy is stored before the original is
    // terminated). Polling the DLQ stream counts what really reached it.
    while (!stop.signal.aborted) {
      const letters = (await jsm.streams.info(DLQ_STREAM)).state.last_seq - dlqBaseline;
      if (processed >= good && letters >= poison) {
        log.info({ processed, deadLettered: letters }, "all orders settled; shutting down");
        stop.abort(new Error("all work settled"));
        break;
      }
      await sleep(100, undefined, { signal: stop.signal }).catch(() => {});
    }
    await running;
    if (signal.aborted) unfinished = true;
    const deadLetters = await readDeadLetters(conn, dlqBaseline);
    return { published, duplicates, processed, redeliveries, deadLetters, unfinished };
  } finally {
    clearTimeout(deadline);
    signal.removeEventListener("abort", onCaller);
    stop.abort(new Error("work-queue example ended"));
    await running.catch(() => {});
  }
}

/**
 * Publishes the batch with a `Nats-Msg-Id` per order, then one order again with the same id to
 * show the stream's de-duplication.
 */
async function publishOrders(
  conn: Connection,
  log: Logger,
): Promise<{ published: number; duplicates: number; good: number; poison: number }> {
  const producer = createProducer(conn);
  // Unique per run: a re-run within the 2-minute duplicate window must not be dropped as a copy.
  const run = Date.now().toString(36);
  const orders: Order[] = [
    ...Array.from({ length: 8 }, (_, i) => ({ id: `o${i + 1}`, sku: "BOOK", quantity: i + 1 })),
    { id: "o9", sku: "FLAKY", quantity: 1 },
    { id: "o10", sku: "BOOK", quantity: 0 },
    { id: "o11", sku: "CURSED", quantity: 1 },
  ];
  let published = 0;
  let duplicates = 0;
  for (const order of orders) {
    const ack = await producer.publishJetStream(ORDER_SUBJECT, order, {
      msgId: `${run}-${order.id}`,
    });
    published++;
    log.debug({ orderId: order.id, seq: ack.seq }, "order published");
  }
  // Bytes are sent as they are: a payload no JSON parser accepts.
  await producer.publishJetStream(ORDER_SUBJECT, new TextEncoder().encode("{not json"), {
    msgId: `${run}-garbage`,
  });
  published++;
  const again = await producer.publishJetStream(ORDER_SUBJECT, orders[0], {
    msgId: `${run}-o1`,
  });
  if (again.duplicate) duplicates++;
  log.info(
    { orderId: "o1", seq: again.seq, duplicate: again.duplicate },
    "order o1 published again with the same msgId",
  );
  // o1..o9 succeed; o10 (rejected), o11 (always fails) and the garbage payload are poison.
  return { published, duplicates, good: 9, poison: 3 };
}

/** Reads this run's dead letters back from the DLQ stream, with their `Jetroute-*` headers. */
async function readDeadLetters(conn: Connection, after: number): Promise<DeadLetterView[]> {
  const jsm = await conn.jetstreamManager();
  const last = (await jsm.streams.info(DLQ_STREAM)).state.last_seq;
  const letters: DeadLetterView[] = [];
  for (let seq = after + 1; seq <= last; seq++) {
    const m = await jsm.streams.getMessage(DLQ_STREAM, { seq });
    if (m === null) continue;
    const headers: Record<string, string> = {};
    for (const name of Object.values(DeadLetterHeader)) {
      if (m.header?.has(name)) headers[name] = m.header.get(name);
    }
    letters.push({ seq, body: new TextDecoder().decode(m.data), headers });
  }
  return letters;
}

/** Prints a summary in plain lines (the log above it is JSON). */
export function printSummary(summary: WorkQueueSummary): void {
  const out = (line: string) => console.log(line);
  out(
    `work-queue: published ${summary.published} (duplicates ${summary.duplicates}), processed ${summary.processed}, redeliveries ${summary.redeliveries}, dead-lettered ${summary.deadLetters.length}${summary.unfinished ? " (stopped before all work settled)" : ""}`,
  );
  for (const letter of summary.deadLetters) {
    out(`  dead letter #${letter.seq}: ${letter.body}`);
    for (const [k, v] of Object.entries(letter.headers)) out(`    ${k}: ${v}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const summary = await main(shutdownSignal());
  printSummary(summary);
}
