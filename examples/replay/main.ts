// Reading a stream again. A service keeps a running total of invoices in memory; after a
// restart (or a bug fix) it rebuilds the total with `replay`, through the route's own handler,
// while the live route keeps running: the replay reads with its own ephemeral consumer, so the
// live durable's pending counts do not move. Then `resetDurable` rewinds the durable itself
// so the live route re-processes the last invoices (consumer reset API on nats-server 2.14+,
// delete and re-create with the same config below).
//
//   npm run example replay
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  Broker,
  type Connection,
  connect,
  createLogger,
  createProducer,
  ensureStream,
  type Logger,
  type ReplaySummary,
  type Route,
  reject,
  replay,
  resetDurable,
  route,
  withConnection,
  withDLQ,
  withLogger,
  withName,
  withServers,
  withStream,
  withSubject,
  withSubjects,
} from "../../src/index.js";
import { natsForExample, shutdownSignal } from "../shared/nats.js";

const STREAM = "INVOICES_EXAMPLE";
const INVOICES = 10;

/** What the example saw. */
export interface ReplayExampleSummary {
  readonly replay: ReplaySummary;
  readonly pendingUnchanged: boolean;
  readonly redelivered: readonly number[];
}

/** Runs the example against `url` (default `NATS_URL`, else an embedded nats-server). */
export async function main(signal: AbortSignal, url?: string): Promise<ReplayExampleSummary> {
  const log = createLogger({ base: { service: "replay" } });
  const nats = url === undefined ? await natsForExample() : undefined;
  const conn = await connect(
    withServers(url ?? nats?.url ?? ""),
    withName("invoices"),
    withLogger(log),
  );
  try {
    await setUp(conn);
    return await run(conn, log, signal);
  } finally {
    await conn.close();
    await nats?.stop();
  }
}

/** A stream of invoices (one of them malformed) and a DLQ stream. */
async function setUp(conn: Connection): Promise<void> {
  await ensureStream(conn, STREAM, withSubjects("invoices.>"));
  await ensureStream(conn, `${STREAM}_DLQ`, withSubjects("dlq.invoices"));
  const jsm = await conn.jetstreamManager();
  await jsm.streams.purge(STREAM);
  await jsm.consumers.delete(STREAM, "invoices").catch(() => {});
  const producer = createProducer(conn);
  for (let i = 1; i <= INVOICES; i++) {
    await producer.publishJetStream("invoices.created", { invoice: i, cents: i === 4 ? -1 : 100 });
  }
}

async function run(
  conn: Connection,
  log: Logger,
  signal: AbortSignal,
): Promise<ReplayExampleSummary> {
  let total = 0;
  const seen: number[] = [];
  const invoices = route(
    "invoices",
    async (msg) => {
      const { cents } = msg.json<{ cents: number }>();
      if (cents < 0) return reject("negative amount");
      total += cents;
      seen.push(msg.streamSequence ?? 0);
    },
    withStream(STREAM),
    withSubject("invoices.created"),
    withDLQ("dlq.invoices"),
  );

  // The live service consumes every invoice once (invoice 4 goes to the DLQ).
  const jsm = await conn.jetstreamManager();
  const settled = async () => {
    const i = await jsm.consumers.info(STREAM, "invoices");
    return i.num_pending === 0 && i.num_ack_pending === 0;
  };
  const live = await start(conn, log, invoices, signal);
  await waitFor(settled, signal);
  const before = await jsm.consumers.info(STREAM, "invoices");

  // The in-memory total is lost; rebuild it with a replay while the live route keeps running.
  total = 0;
  const summary = await replay(conn, invoices, {
    from: "all",
    signal,
    logger: log,
    onProgress: (p) =>
      console.log(`progress: ${p.delivered} read, seq ${p.lastSeq ?? "-"} of ${p.endSeq}`),
  });
  const after = await jsm.consumers.info(STREAM, "invoices");
  const pendingUnchanged =
    after.num_pending === before.num_pending && after.num_ack_pending === before.num_ack_pending;
  console.log(
    `replayed ${summary.delivered} of ${INVOICES}: ${summary.handled} handled, ${summary.deadLettered} dead-lettered; total ${total} cents`,
  );
  console.log(`live durable pending unchanged: ${pendingUnchanged}`);
  await live.stop();

  // Rewind the live durable to invoice 7: the live route processes 7..10 again.
  const reset = await resetDurable(conn, STREAM, "invoices", { to: 7, logger: log });
  console.log(`durable "invoices" reset to seq ${reset.seq} (${reset.method})`);
  seen.length = 0;
  const again = await start(conn, log, invoices, signal);
  await waitFor(async () => seen.length === 4, signal);
  await again.stop();
  console.log(`redelivered after the reset: ${seen.join(",")}`);
  return { replay: summary, pendingUnchanged, redelivered: [...seen] };
}

/** Runs a broker with `r` in the background until `stop()` or `signal`. */
async function start(
  conn: Connection,
  log: Logger,
  r: Route,
  signal: AbortSignal,
): Promise<{ stop(): Promise<void> }> {
  const controller = new AbortController();
  const broker = new Broker(withConnection(conn), withLogger(log));
  broker.register(r);
  const running = broker.run(AbortSignal.any([controller.signal, signal]));
  await broker.started();
  return {
    async stop() {
      controller.abort();
      await running;
    },
  };
}

/** Polls `condition` every 20 ms until it holds; rejects when `signal` aborts first. */
async function waitFor(condition: () => Promise<boolean>, signal: AbortSignal): Promise<void> {
  while (!(await condition())) await sleep(20, undefined, { signal });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(shutdownSignal(30_000));
}
