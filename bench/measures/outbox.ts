import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { type Counter, Registry } from "prom-client";
import {
  createOutbox,
  migrateOutbox,
  OutboxMetricName,
  type OutboxOption,
  withOutboxMetrics,
  withOutboxTable,
  withRelayBatchSize,
  withRelayConcurrency,
} from "../../src/outbox/index.js";
import { createProducer } from "../../src/producer/index.js";
import { startPostgres } from "../../src/testing/index.js";
import { alternate } from "../rounds.js";
import type { BenchContext, Measure } from "../types.js";

const WINDOW = 1000;
const SIZE = 128;
const MESSAGES = Number(process.env.BENCH_OUTBOX_MESSAGES ?? 20_000);
const WARMUP_MESSAGES = 2_000;
const TABLE = "bench_outbox";
/** fsync on by default: a relay's commits cost what they cost in production. */
const DURABLE = process.env.BENCH_OUTBOX_DURABLE !== "0";
/** The relay's own defaults unless set, to explore other sizes. */
const TUNING: OutboxOption[] = [
  ...(process.env.BENCH_OUTBOX_BATCH
    ? [withRelayBatchSize(Number(process.env.BENCH_OUTBOX_BATCH))]
    : []),
  ...(process.env.BENCH_OUTBOX_CONCURRENCY
    ? [withRelayConcurrency(Number(process.env.BENCH_OUTBOX_CONCURRENCY))]
    : []),
];

/**
 * Outbox relay throughput: N events already in the outbox table, from relay start until every
 * row is published and marked sent (default options: 500-row batches, 2 at once), against
 * `producer.publishWindowed` of the same N events (same producer, same msgId shape, payloads
 * and subject, window 1000, a fresh file-store stream each round) in the same run. The ratio is
 * relay / windowed publish. Both sides are timed from their first publish to their last
 * acknowledgement; the relay's time also holds its start (table probe, LISTEN) and the last
 * batch's COMMIT. PostgreSQL from jetroute/testing with `durable: true`: fsync,
 * synchronous_commit and full_page_writes on, as in production, data on the machine's disk.
 *
 * Where the time goes (2 shared cores; CPU per message read from /proc around each round):
 * the windowed side spends ~19 µs in this process (nats.js publish) and ~7.5 µs in nats-server;
 * the relay adds ~8 µs in PostgreSQL (lock and claim a row, write its new version and primary
 * key entry, WAL, commit, vacuum) and ~4 µs in this process (pg driver, row objects, GC). On
 * a machine shared with other work the ratio follows total CPU per message (~26 vs ~40 µs):
 * about 0.65-0.68. Reaching 0.8 needs the relay's extra work under ~6.5 µs per row.
 */
export const measure: Measure = {
  name: "outbox-relay",
  description: `outbox relay vs windowed publish of the same events, ${SIZE} B payloads, file store, PostgreSQL fsync ${DURABLE ? "on" : "off"}`,
  async run(ctx) {
    const postgres = await startPostgres({ durable: DURABLE });
    const pool = new pg.Pool({ connectionString: postgres.url, max: 20 });
    try {
      await migrateOutbox(pool, { table: TABLE });
      const producer = createProducer(ctx.conn);
      const registry = new Registry();
      const outbox = createOutbox(
        pool,
        producer,
        withOutboxTable(TABLE),
        withOutboxMetrics({ registry }),
        ...TUNING,
      );
      // Rows marked sent, read in-process: polling the table would load PostgreSQL, the very
      // thing being measured.
      const published = registry.getSingleMetric(OutboxMetricName.published) as Counter;
      const sentSoFar = async () => (await published.get()).values[0]?.value ?? 0;
      const payload = new Uint8Array(SIZE).fill(120);
      const count = (round: number) => (round === 0 ? WARMUP_MESSAGES : MESSAGES);

      const windowedRound = (round: number) =>
        withFreshStream(ctx, `w${round}`, async (subject) => {
          const n = count(round);
          const started = performance.now();
          const r = await producer.publishWindowed(events(subject, payload, n, `w${round}`), {
            window: WINDOW,
          });
          const ms = performance.now() - started;
          if (r.published !== n) throw new Error(`published ${r.published} of ${n}`);
          return { messages: n, ms };
        });
      const relayRound = (round: number) =>
        withFreshStream(ctx, `r${round}`, async (subject) => {
          const n = count(round);
          await pool.query(`TRUNCATE "${TABLE}"`);
          const ids = Array.from({ length: n }, (_, i) => `r${round}-${i}`);
          await pool.query(
            `INSERT INTO "${TABLE}" (id, subject, payload) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])`,
            [ids, ids.map(() => subject), ids.map(() => Buffer.from(payload))],
          );
          const controller = new AbortController();
          const target = (await sentSoFar()) + n;
          const started = performance.now();
          const relaying = outbox.relay({ signal: controller.signal });
          while ((await sentSoFar()) < target) await sleep(2);
          const ms = performance.now() - started;
          controller.abort();
          await relaying;
          if ((await outbox.lag()).pending !== 0) throw new Error("rows left pending");
          return { messages: n, ms };
        });

      const result = await alternate(ctx, windowedRound, relayRound);
      return {
        raw: result.raw,
        jetroute: result.jetroute,
        ratio: result.ratio,
        ratioOf: "publishWindowed",
        messages: MESSAGES,
        goal: 0.8,
        details: { "round ratios": result.ratioRange, "postgres fsync": DURABLE ? "on" : "off" },
      };
    } finally {
      await pool.end();
      await postgres.stop();
    }
  },
};

function* events(subject: string, payload: Uint8Array, n: number, tag: string) {
  for (let i = 0; i < n; i++) yield { subject, payload, options: { msgId: `${tag}-${i}` } };
}

/** A file-store stream just for this round, deleted afterwards (outside the timed part). */
async function withFreshStream<T>(
  ctx: BenchContext,
  tag: string,
  body: (subject: string) => Promise<T>,
): Promise<T> {
  const jsm = await ctx.conn.jetstreamManager();
  const name = `BENCH_OUTBOX_${tag}`.toUpperCase();
  const subject = `bench.outbox.${tag}`;
  await jsm.streams.add({ name, subjects: [subject], storage: "file" });
  try {
    return await body(subject);
  } finally {
    await jsm.streams.delete(name);
  }
}
