import { setTimeout as sleep } from "node:timers/promises";
import { jetstream } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
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
import { alternateSides, median, pairedRatio } from "../rounds.js";
import { rawWindowed, withFreshStream } from "../support.js";
import type { Measure } from "../types.js";

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
 * row is published and marked sent (default options: 500-row batches, 2 at once), against a
 * windowed direct publish of the same N events with the raw nats.js client (`js.publish` with
 * msgID, 1000 in flight, payloads and subject alike, a fresh file-store stream each round) in
 * the same run. The raw client has nats.js's async stack traces off, as jetroute's connection
 * has: the stricter baseline (with its defaults it is ~40% slower). The ratio is relay / raw.
 * Also reported: jetroute's own `publishWindowed` of the same events, and relay / that.
 * Both sides are timed from their first publish to their last acknowledgement; the relay's time
 * also holds its start (table probe, LISTEN) and the last batch's COMMIT. PostgreSQL from
 * jetroute/testing with `durable: true`: fsync, synchronous_commit and full_page_writes on, as
 * in production, data on the machine's disk.
 * Where the time goes: docs/outbox.md, "Performance".
 */
export const measure: Measure = {
  name: "outbox-relay",
  description: `outbox relay vs windowed publish of the same events, ${SIZE} B payloads, file store, PostgreSQL fsync ${DURABLE ? "on" : "off"}`,
  async run(ctx) {
    const postgres = await startPostgres({ durable: DURABLE });
    const pool = new pg.Pool({ connectionString: postgres.url, max: 20 });
    const rawNc = await natsConnect({ servers: ctx.url, noAsyncTraces: true });
    const raw = jetstream(rawNc);
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
        withFreshStream(ctx, "outbox", `w${round}`, async (subject) => {
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
        withFreshStream(ctx, "outbox", `r${round}`, async (subject) => {
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

      const rawRound = (round: number) =>
        withFreshStream(ctx, "outbox", `n${round}`, async (subject) => {
          const n = count(round);
          const started = performance.now();
          await rawWindowed(raw, subject, payload, n, WINDOW, `n${round}`);
          return { messages: n, ms: performance.now() - started };
        });

      const rates = await alternateSides(ctx, {
        raw: rawRound,
        windowed: windowedRound,
        relay: relayRound,
      });
      const vsRaw = pairedRatio(rates.relay, rates.raw);
      const vsWindowed = pairedRatio(rates.relay, rates.windowed);
      return {
        raw: median(rates.raw),
        jetroute: median(rates.relay),
        ratio: vsRaw.ratio,
        ratioOf: "js.publish",
        messages: MESSAGES,
        goal: 0.8,
        details: {
          "round ratios": vsRaw.ratioRange,
          "jetroute publishWindowed": Math.round(median(rates.windowed)),
          "relay / publishWindowed": Number(vsWindowed.ratio.toFixed(3)),
          "publishWindowed / js.publish": Number(
            pairedRatio(rates.windowed, rates.raw).ratio.toFixed(3),
          ),
          "postgres fsync": DURABLE ? "on" : "off",
        },
      };
    } finally {
      await rawNc.close();
      await pool.end();
      await postgres.stop();
    }
  },
};

function* events(subject: string, payload: Uint8Array, n: number, tag: string) {
  for (let i = 0; i < n; i++) yield { subject, payload, options: { msgId: `${tag}-${i}` } };
}
