// Dead-letter operations: a payments service ships with a bug (it rejects every EUR charge) and
// a refund route that is switched off; their messages end in the DLQ. The example lists the dead
// letters with their decoded headers, "deploys the fix", shows a dry run, redrives the charge
// route's letters (each processed once, each removed from the DLQ only after its publish was
// acked), shows that running the redrive again sends nothing, and purges the refund route's
// letters. Ctrl-C stops it between two letters; a re-run publishes each letter once.
//
//   npm run example dead-letters            (embedded nats-server)
//   NATS_URL=nats://host:4222 npm run example dead-letters
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  Broker,
  type Connection,
  connect,
  createLogger,
  createProducer,
  ensureStream,
  fixed,
  type Logger,
  listDeadLetters,
  purgeDeadLetters,
  redriveDeadLetters,
  reject,
  route,
  withBackoff,
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

const STREAM = "PAYMENTS_EXAMPLE";
const DLQ_STREAM = "PAYMENTS_EXAMPLE_DLQ";
const CHARGE = "payments.charge";
const REFUND = "payments.refund";

interface Payment {
  readonly id: string;
  readonly currency: string;
}

/** Runs the example against `url` (default `NATS_URL`, else an embedded nats-server). */
export async function main(signal: AbortSignal, url?: string): Promise<void> {
  const log = createLogger({ base: { service: "dead-letters" } });
  const nats = url === undefined ? await natsForExample() : undefined;
  const conn = await connect(
    withServers(url ?? nats?.url ?? ""),
    withName("payments"),
    withLogger(log),
  );
  try {
    await operate(conn, log, signal);
  } finally {
    await conn.close();
    await nats?.stop();
  }
}

async function operate(conn: Connection, log: Logger, signal: AbortSignal): Promise<void> {
  await ensureStream(conn, STREAM, withSubjects("payments.>"));
  await ensureStream(conn, DLQ_STREAM, withSubjects("dlq.payments"));
  // With NATS_URL the streams outlive runs: start from empty ones.
  const jsm = await conn.jetstreamManager();
  await jsm.streams.purge(STREAM);
  await jsm.streams.purge(DLQ_STREAM);

  let eurFixed = false;
  const charged: string[] = [];
  const broker = new Broker(withConnection(conn), withLogger(log));
  broker.register(
    route(
      "charge",
      async (msg) => {
        const payment = msg.json<Payment>();
        // The bug: EUR was never wired up. `reject` dead-letters at once.
        if (payment.currency === "EUR" && !eurFixed)
          return reject(`unsupported currency ${payment.currency}`);
        charged.push(payment.id);
      },
      withStream(STREAM),
      withSubject(CHARGE),
      withDLQ("dlq.payments"),
      withBackoff(fixed("100ms")),
    ),
  );
  broker.register(
    route(
      "refund",
      async () => reject("refunds are switched off"),
      withStream(STREAM),
      withSubject(REFUND),
      withDLQ("dlq.payments"),
    ),
  );
  const stop = new AbortController();
  const onCaller = () => stop.abort(signal.reason);
  signal.addEventListener("abort", onCaller, { once: true });
  const running = broker.run(stop.signal);
  try {
    await broker.started();
    const producer = createProducer(conn);
    await producer.publishJetStream(CHARGE, { id: "o1", currency: "USD" });
    await producer.publishJetStream(CHARGE, { id: "o2", currency: "EUR" });
    await producer.publishJetStream(CHARGE, { id: "o3", currency: "EUR" });
    await producer.publishJetStream(REFUND, { id: "r1", currency: "USD" });
    while ((await jsm.streams.info(DLQ_STREAM)).state.messages < 3)
      await sleep(50, undefined, { signal });

    // 1. What is in the DLQ, and why.
    for (const l of await listDeadLetters(conn, DLQ_STREAM, { signal })) {
      console.log(
        `dead letter #${l.seq} route=${l.route} subject=${l.originalSubject} from=${l.stream}:${l.sequence} deliveries=${l.deliveryCount} error=${l.error}`,
      );
    }

    // 2. The fix is deployed; look before sending.
    eurFixed = true;
    const charges = { route: "charge" };
    const dry = await redriveDeadLetters(conn, DLQ_STREAM, {
      filter: charges,
      dryRun: true,
      signal,
    });
    const targets = [...new Set(dry.planned?.map((p) => p.subject))].join(", ");
    console.log(`dry run: would redrive ${dry.planned?.length ?? 0} letters to ${targets}`);

    // 3. Redrive: published with msg id redrive:<dlq>:<seq>:<subject>, removed after the PubAck.
    const done = await redriveDeadLetters(conn, DLQ_STREAM, { filter: charges, signal });
    console.log(
      `redriven: ${done.published} published, ${done.duplicates} duplicates, ${done.removed} removed, ${done.failed.length} failed`,
    );
    while (charged.length < 3) await sleep(20, undefined, { signal });
    console.log(
      `processed after the fix: ${charged
        .filter((id) => id !== "o1")
        .sort()
        .join(", ")}`,
    );
    const again = await redriveDeadLetters(conn, DLQ_STREAM, { filter: charges, signal });
    console.log(`redrive again: ${again.matched} matched, ${again.published} published`);

    // 4. Refunds stay off: drop their letters, the others (none left) stay.
    const { purged } = await purgeDeadLetters(conn, DLQ_STREAM, {
      filter: { route: "refund" },
      signal,
    });
    const left = (await jsm.streams.info(DLQ_STREAM)).state.messages;
    console.log(`purged ${purged} dead letter(s) of route refund; ${left} left`);
  } finally {
    signal.removeEventListener("abort", onCaller);
    stop.abort(new Error("dead-letters example ended"));
    await running.catch(() => {});
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(shutdownSignal(30_000));
}
