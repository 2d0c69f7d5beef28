import { median } from "../rounds.js";
import { dropStream, prefilledStream, spawnWorker, untilConsumed } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_SCALE_MESSAGES ?? 10_000);
const CONCURRENCY = 16;
const WORK_MS = 5;
const STREAM = "BENCH_SCALE";
const SUBJECT = "bench.scale";

/**
 * Scale-out: 1 vs 2 (and 3) service processes (bench/worker.ts) on one durable, I/O-bound handler
 * (`await sleep(5)`, concurrency 16 each: ideal 3.2k msg/s per process). Processes are started
 * and connected before the clock starts; a round ends when the consumer has acked everything.
 * "raw" here is the single process and "jetroute" the pair, so the ratio is the speed-up
 * (ideal 2.0); each process's share is reported.
 */
export const measure: Measure = {
  name: "scale-out",
  description: `1 vs 2 (and 3) service processes on one durable, handler awaits ${WORK_MS} ms, concurrency ${CONCURRENCY} each`,
  async run(ctx) {
    await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
    const rounds = Math.min(ctx.rounds, 3);
    const one: number[] = [];
    const two: number[] = [];
    const three: number[] = [];
    let shares = "";
    let shares3 = "";
    try {
      for (let round = 1; round <= rounds; round++) {
        one.push((await runWith(ctx, 1, `scale1-${round}`)).rate);
        const r = await runWith(ctx, 2, `scale2-${round}`);
        two.push(r.rate);
        shares = r.handled.join("/");
        const r3 = await runWith(ctx, 3, `scale3-${round}`);
        three.push(r3.rate);
        shares3 = r3.handled.join("/");
        ctx.log(
          `  round ${round}: 1 process ${one.at(-1)} msg/s, 2 processes ${r.rate} msg/s (${shares}), 3 processes ${r3.rate} msg/s (${shares3})`,
        );
      }
    } finally {
      await dropStream(ctx, STREAM);
    }
    const raw = median(one);
    const jetroute = median(two);
    return {
      raw,
      jetroute,
      ratio: jetroute / raw,
      ratioOf: "1 process",
      messages: MESSAGES,
      rounds,
      details: {
        "ideal per process": (CONCURRENCY * 1000) / WORK_MS,
        "last shares": shares,
        "3 processes": median(three),
        "3 processes / 1": Number((median(three) / raw).toFixed(3)),
        "last shares of 3": shares3,
      },
    };
  },
};

async function runWith(ctx: BenchContext, processes: number, durable: string) {
  const env = {
    NATS_URL: ctx.url,
    STREAM,
    SUBJECT,
    DURABLE: durable,
    CONCURRENCY: String(CONCURRENCY),
    WORK_MS: String(WORK_MS),
  };
  // The durable exists before the workers race to create it.
  const jsm = await ctx.conn.jetstreamManager();
  const workers = await Promise.all(Array.from({ length: processes }, () => spawnWorker(env)));
  const started = performance.now();
  for (const w of workers) w.go();
  await untilConsumed(ctx, STREAM, durable, MESSAGES);
  const ms = performance.now() - started;
  const reports = await Promise.all(workers.map((w) => w.stop()));
  await jsm.consumers.delete(STREAM, durable).catch(() => false);
  const handled = reports.map((r) => r.handled);
  const total = handled.reduce((a, b) => a + b, 0);
  if (total < MESSAGES) throw new Error(`${durable}: handled ${total} of ${MESSAGES}`);
  return { rate: Math.round(MESSAGES / (ms / 1000)), handled };
}
