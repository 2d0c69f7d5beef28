import {
  dropStream,
  prefilledStream,
  rawWindowed,
  spawnWorker,
  untilConsumed,
} from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 200_000);
const STREAM = "BENCH_RSS";
const SUBJECT = "bench.rss";
const CONCURRENCY = 16;
const MB = 1024 * 1024;

/**
 * Process RSS while a route (noop handler, concurrency 16, default prefetch) works through a
 * backlog, in a service process of its own (bench/worker.ts) so the publisher's garbage does not
 * count. Runs at half the backlog, then at the full backlog on a fresh durable: the peak RSS
 * above the idle baseline should be about the same (bounded by concurrency + prefetch, not by
 * the backlog). The reported figure is the full-backlog delta in MB; the ratio is half/full
 * delta (1.0 = no growth with backlog).
 */
export const measure: Measure = {
  name: "rss-backlog",
  description: `peak RSS above idle while a route drains a ${BACKLOG}-message backlog (separate process)`,
  async run(ctx) {
    const half = Math.floor(BACKLOG / 2);
    await prefilledStream(ctx, STREAM, SUBJECT, half);
    try {
      const small = await drain(ctx, "rss-half", half);
      await rawWindowed(ctx.raw.js, SUBJECT, new Uint8Array(128).fill(120), BACKLOG - half);
      const large = await drain(ctx, "rss-full", BACKLOG);
      return {
        messages: BACKLOG,
        rounds: 1,
        unit: "MB",
        jetroute: large.deltaMb,
        ratio: Math.max(small.deltaMb, 0.1) / Math.max(large.deltaMb, 0.1),
        ratioOf: `${half / 1000}k vs ${BACKLOG / 1000}k`,
        goal: 0.8,
        details: {
          [`${half / 1000}k peak delta MB`]: small.deltaMb,
          [`${BACKLOG / 1000}k peak delta MB`]: large.deltaMb,
          "baseline MB": large.baselineMb,
          [`${BACKLOG / 1000}k msg/s`]: large.rate,
        },
      };
    } finally {
      await dropStream(ctx, STREAM);
    }
  },
};

async function drain(ctx: BenchContext, durable: string, n: number) {
  const worker = await spawnWorker({
    NATS_URL: ctx.url,
    STREAM,
    SUBJECT,
    DURABLE: durable,
    CONCURRENCY: String(CONCURRENCY),
  });
  const started = performance.now();
  worker.go();
  await untilConsumed(ctx, STREAM, durable, n, 100);
  const ms = performance.now() - started;
  const report = await worker.stop();
  const deltaMb = Number(((report.peakRss - report.baselineRss) / MB).toFixed(1));
  ctx.log(`  ${durable}: ${n} messages, ${report.handled} handled, peak RSS delta ${deltaMb} MB`);
  if (report.handled !== n) throw new Error(`${durable}: handled ${report.handled} of ${n}`);
  return {
    deltaMb,
    baselineMb: Number((report.baselineRss / MB).toFixed(1)),
    rate: Math.round(n / (ms / 1000)),
  };
}
