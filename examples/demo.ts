// `npm run demo`: jetroute end to end in about five seconds, on an embedded nats-server (or
// NATS_URL). Provisions the streams (twice: ensureStream is idempotent), runs the work-queue
// service (publish with de-duplication, processing, retries with backoff, poison messages to
// the DLQ, read back with their Jetroute-* headers, drain), the request-reply service, and the
// core fan-out / queue routes, then prints a summary. Exits 0 by itself; Ctrl-C drains early.
import {
  connect,
  createLogger,
  ensureStream,
  streamExists,
  withMaxAge,
  withRetention,
  withServers,
  withSubjects,
} from "../src/index.js";
import { main as fanOut } from "./fan-out/main.js";
import { main as requestReply } from "./request-reply/main.js";
import { natsForExample, shutdownSignal } from "./shared/nats.js";
import { DLQ_STREAM, ORDERS_STREAM, printSummary, main as workQueue } from "./work-queue/main.js";

const section = (title: string) => console.log(`\n=== ${title} ===`);

async function demo(): Promise<boolean> {
  // The whole demo is bounded: if anything hangs, the signal stops it well inside 20 s.
  const signal = shutdownSignal(18_000);
  // Warnings show retries and dead letters as they happen; LOG_LEVEL=info shows every message.
  const log = createLogger(process.env.LOG_LEVEL ? {} : { level: "warn" });
  const nats = await natsForExample();
  try {
    section("1. stream provisioning");
    const conn = await connect(withServers(nats.url));
    try {
      const before = await streamExists(conn, ORDERS_STREAM);
      for (let i = 0; i < 2; i++) {
        // Same call as the service makes on every start: create, then a no-op.
        await ensureStream(
          conn,
          ORDERS_STREAM,
          withSubjects("orders.>"),
          withRetention("workqueue"),
          withMaxAge("24h"),
        );
      }
      const after = await streamExists(conn, ORDERS_STREAM);
      console.log(
        `${ORDERS_STREAM}: existed before: ${before}, after two ensureStream calls: ${after}`,
      );
    } finally {
      await conn.close();
    }

    section("2-4. work queue: publish with dedup, process, retry, dead-letter, drain");
    const work = await workQueue(signal, { url: nats.url, logger: log, maxTimeMs: 15_000 });
    printSummary(work);

    section("5. request-reply");
    const rr = await requestReply(signal, { url: nats.url, logger: log });

    section("6. core fan-out and queue group");
    const fan = await fanOut(signal, { url: nats.url, logger: log });

    section("summary");
    const ok =
      !work.unfinished &&
      work.duplicates === 1 &&
      work.processed === 9 &&
      work.deadLetters.length === 3 &&
      rr.rejected.code === 404 &&
      rr.malformed.code === 400 &&
      fan.events === 10 &&
      fan.emails === 20;
    console.log(
      [
        `streams        ${ORDERS_STREAM} (work queue) and ${DLQ_STREAM} (dead letters) provisioned`,
        `dedup          duplicate: ${work.duplicates === 1}`,
        `work queue     ${work.processed} processed, ${work.redeliveries} redeliveries, ${work.deadLetters.length} dead-lettered`,
        `request-reply  reply ${rr.quote.totalCents} cents; reject -> ${rr.rejected.code}; malformed -> ${rr.malformed.code}`,
        `fan-out        ${fan.events} event deliveries (5 x 2 instances), ${fan.emails} emails shared ${fan.perInstance.map((p) => p.emails).join("/")}`,
        `shutdown       every broker drained; connections closed`,
        ok ? "demo OK" : "demo FAILED: see the lines above",
      ].join("\n"),
    );
    return ok;
  } finally {
    await nats.stop();
  }
}

process.exitCode = (await demo()) ? 0 : 1;
