import {
  dropStream,
  prefilledStream,
  rawWindowed,
  spawnWorker,
  untilConsumed,
} from "../support.js";
import type { BenchContext, Measure } from "../types.js";

/** The large backlog; `BENCH_BACKLOG=1000000` for the 1M figure (about 2.5 minutes). */
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 200_000);
/**
 * The small backlog compared with it: half of it, at most 100k, so that a 1M run compares
 * backlogs 10x apart without draining 500k first.
 */
const SMALL = Math.min(Math.floor(BACKLOG / 2), 100_000);
const STREAM = "BENCH_RSS";
const SUBJECT = "bench.rss";
const CONCURRENCY = 16;
const MB = 1024 * 1024;

/** 100000 -> "100k", 1000000 -> "1M". */
const count = (n: number): string =>
  n >= 1_000_000 && n % 100_000 === 0 ? `${n / 1_000_000}M` : `${n / 1000}k`;

/**
 * Process RSS while a route (noop handler, concurrency 16, default prefetch) works through a
 * backlog, in a service process of its own (bench/worker.ts) so the publisher's garbage does not
 * count. The reported figure is the full backlog's peak RSS above the idle baseline, in MB. The
 * ratio is flatness over that drain: the peak of its first half (by messages handled) over the
 * peak of the whole drain, 1.0 when nothing grew in the second half (the engine holds at most
 * concurrency + prefetch messages, whatever the backlog). Details: the peak of each quarter, and
 * the peak of a small backlog's drain on a fresh durable first (memory that scaled with the
 * backlog's size would show there; a 100k drain takes ~1-2 s, too short for the heap to reach
 * its steady size, so its peak reads lower, which is why the ratio is not small/full).
 */
export const measure: Measure = {
  name: "rss-backlog",
  description: `peak RSS above idle while a route drains a ${count(BACKLOG)}-message backlog (separate process)`,
  async run(ctx) {
    await prefilledStream(ctx, STREAM, SUBJECT, SMALL);
    try {
      const small = await drain(ctx, "rss-small", SMALL);
      const started = performance.now();
      await rawWindowed(ctx.raw.js, SUBJECT, new Uint8Array(128).fill(120), BACKLOG - SMALL);
      ctx.log(
        `  filled ${STREAM} up to ${BACKLOG} messages in ${Math.round(performance.now() - started)} ms`,
      );
      const large = await drain(ctx, "rss-full", BACKLOG);
      const firstHalf = Math.max(...large.quarters.slice(0, 2));
      return {
        messages: BACKLOG,
        rounds: 1,
        unit: "MB",
        jetroute: large.deltaMb,
        ratio: Math.max(firstHalf, 0.1) / Math.max(large.deltaMb, 0.1),
        ratioOf: `${count(BACKLOG)}, 1st half vs all`,
        goal: 0.8,
        details: {
          [`${count(SMALL)} peak delta MB`]: small.deltaMb,
          [`${count(BACKLOG)} peak delta MB`]: large.deltaMb,
          [`${count(BACKLOG)} peak delta MB by quarter`]: large.quarters.join(" / "),
          "baseline MB": large.baselineMb,
          [`${count(BACKLOG)} msg/s`]: large.rate,
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
    EXPECT: String(n),
  });
  const started = performance.now();
  worker.go();
  await untilConsumed(ctx, STREAM, durable, n, 100);
  const ms = performance.now() - started;
  const report = await worker.stop();
  const delta = (rss: number) => Number(((rss - report.baselineRss) / MB).toFixed(1));
  const deltaMb = delta(report.peakRss);
  ctx.log(`  ${durable}: ${n} messages, ${report.handled} handled, peak RSS delta ${deltaMb} MB`);
  if (report.handled !== n) throw new Error(`${durable}: handled ${report.handled} of ${n}`);
  return {
    deltaMb,
    quarters: report.quarterPeaks.map(delta),
    baselineMb: Number((report.baselineRss / MB).toFixed(1)),
    rate: Math.round(n / (ms / 1000)),
  };
}
