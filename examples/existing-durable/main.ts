// A route meets a durable someone else made. An operator once created "billing" with
// `nats consumer add --ack none`: with it, a failed charge would never be retried. jetroute
// refuses to run on it (ErrConsumerConfigConflict, naming the field, both values and the fix)
// instead of silently losing work; the service then migrates on purpose with
// withOnConsumerConflict("recreate"), and every stored order is charged, failures retried.
//
//   npm run example existing-durable
import { pathToFileURL } from "node:url";
import { AckPolicy } from "@nats-io/jetstream";
import {
  Broker,
  type Connection,
  connect,
  createLogger,
  createProducer,
  ErrConsumerConfigConflict,
  ErrRouteFailed,
  ensureStream,
  fixed,
  type Logger,
  type RouteOption,
  retry,
  route,
  withBackoff,
  withConnection,
  withLogger,
  withName,
  withOnConsumerConflict,
  withServers,
  withStream,
  withSubject,
  withSubjects,
} from "../../src/index.js";
import { natsForExample, shutdownSignal } from "../shared/nats.js";

const STREAM = "BILLING_EXAMPLE";
const ORDERS = 5;

/** What the example saw: the conflict's field, and how many orders were charged after it. */
export interface ExistingDurableSummary {
  readonly conflictField: string | undefined;
  readonly charged: number;
}

/** Runs the example against `url` (default `NATS_URL`, else an embedded nats-server). */
export async function main(signal: AbortSignal, url?: string): Promise<ExistingDurableSummary> {
  const log = createLogger({ base: { service: "existing-durable" } });
  const nats = url === undefined ? await natsForExample() : undefined;
  const conn = await connect(
    withServers(url ?? nats?.url ?? ""),
    withName("billing"),
    withLogger(log),
  );
  try {
    await setUp(conn);
    const conflict = await firstStart(conn, log);
    const charged = await migrate(conn, log, signal);
    console.log(`charged ${charged} of ${ORDERS} orders after re-creating the durable`);
    return { conflictField: conflict?.field, charged };
  } finally {
    await conn.close();
    await nats?.stop();
  }
}

/** The stream with orders waiting, and the durable as the operator made it. */
async function setUp(conn: Connection): Promise<void> {
  await ensureStream(conn, STREAM, withSubjects("billing.orders.>"));
  const jsm = await conn.jetstreamManager();
  await jsm.streams.purge(STREAM);
  await jsm.consumers.delete(STREAM, "billing").catch(() => {});
  await jsm.consumers.add(STREAM, {
    durable_name: "billing",
    ack_policy: AckPolicy.None,
    filter_subject: "billing.orders.created",
  });
  const producer = createProducer(conn);
  for (let i = 1; i <= ORDERS; i++) {
    await producer.publishJetStream("billing.orders.created", { order: i, cents: 100 * i });
  }
}

/** A charge that fails the first time for every second order (a flaky payment provider). */
function charge(counted: Set<number>, onAll: () => void) {
  return async (msg: { json<T>(): T; deliveryCount: number }) => {
    const { order } = msg.json<{ order: number }>();
    if (order % 2 === 0 && msg.deliveryCount === 1) return retry();
    counted.add(order);
    if (counted.size === ORDERS) onAll();
  };
}

function billing(handler: ReturnType<typeof charge>, ...more: RouteOption[]) {
  return route(
    "billing",
    handler,
    withStream(STREAM),
    withSubject("billing.orders.created"),
    withBackoff(fixed("100ms")),
    ...more,
  );
}

/** The route as first deployed: refuses the durable, names why and how to fix it. */
async function firstStart(
  conn: Connection,
  log: Logger,
): Promise<ErrConsumerConfigConflict | undefined> {
  const broker = new Broker(withConnection(conn), withLogger(log));
  broker.register(billing(charge(new Set(), () => {})));
  try {
    await broker.run(AbortSignal.timeout(10_000));
  } catch (err) {
    if (err instanceof ErrRouteFailed && err.cause instanceof ErrConsumerConfigConflict) {
      console.log(`refused: ${err.cause.message}`);
      return err.cause;
    }
    throw err;
  }
  return undefined;
}

/** The deliberate migration: delete and re-create the durable, then charge every order. */
async function migrate(conn: Connection, log: Logger, signal: AbortSignal): Promise<number> {
  const charged = new Set<number>();
  const stop = new AbortController();
  const onCaller = () => stop.abort(signal.reason);
  signal.addEventListener("abort", onCaller, { once: true });
  const broker = new Broker(withConnection(conn), withLogger(log));
  broker.register(
    billing(
      charge(charged, () => stop.abort()),
      withOnConsumerConflict("recreate"),
    ),
  );
  try {
    await broker.run(stop.signal);
  } finally {
    signal.removeEventListener("abort", onCaller);
  }
  const info = await (await conn.jetstreamManager()).consumers.info(STREAM, "billing");
  console.log(`durable "billing" now has ack_policy ${info.config.ack_policy}`);
  return charged.size;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(shutdownSignal(30_000));
}
