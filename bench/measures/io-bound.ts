import { setTimeout as sleep } from "node:timers/promises";
import { type ConsumeRound, jetrouteConsume, rawConsume, rawFinish } from "../consume-rounds.js";
import { alternateSides, median, pairedRatio } from "../rounds.js";
import { dropStream, prefilledStream, signalled } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

/** Per round: enough that consumer set-up (10-20 ms) is under 1% of a round. */
const MESSAGES = Number(process.env.BENCH_IO_MESSAGES ?? 60_000);
const CONCURRENCY = 64;
const WORK_MS = 2;
/** Both sides pull as many messages ahead as they run (jetroute's default prefetch). */
const PREFETCH = Number(process.env.BENCH_IO_PREFETCH ?? CONCURRENCY);
/**
 * One process on the durable, so both sides cap it at what that process holds, as a route
 * that runs in one process only may (`withMaxAckPending(concurrency + prefetch)`). The figure
 * with jetroute's default cap (1000, so that several instances scale out) is reported beside
 * it; docs/benchmarks.md says how the two compare across runs.
 */
const MAX_ACK_PENDING = CONCURRENCY + PREFETCH;
const IDEAL = CONCURRENCY / (WORK_MS / 1000);
const STREAM = "BENCH_IO";
const SUBJECT = "bench.io";

/**
 * An I/O-bound handler (`await sleep(2)`) at concurrency 64: the ideal is 64 / 2 ms = 32k msg/s,
 * out of reach on any machine (timers fire late). The ratio is jetroute against the timer-only
 * ceiling (goal 0.90): the rate the same 64 loops of sleeps reach with no NATS at all, run as a
 * third side of every round so each round's jetroute figure is paired with a ceiling taken at
 * the same moment. The raw side is nats.js `consume()` with a p-limit-style bound (wait for a
 * free slot before taking the next message, as in the nats.js consume-jobs example), reported
 * beside it, as is jetroute against the ideal.
 */
export const measure: Measure = {
  name: "io-bound-c64",
  description: `JetStream consume, handler awaits ${WORK_MS} ms, concurrency ${CONCURRENCY}, prefetch ${PREFETCH}, max ack pending ${MAX_ACK_PENDING}`,
  async run(ctx) {
    await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
    try {
      const rates = await alternateSides(ctx, {
        raw: (round) => rawRound(ctx, `io-raw-${round}`),
        jetroute: (round) => jetrouteRound(ctx, `io-jr-${round}`),
        "timer-only ceiling": timerCeiling,
      });
      const defaultCap = await defaultCapRate(ctx);
      const raw = median(rates.raw);
      const jetroute = median(rates.jetroute);
      const ceiling = median(rates["timer-only ceiling"]);
      const goal = pairedRatio(rates.jetroute, rates["timer-only ceiling"]);
      return {
        raw,
        jetroute,
        ratio: goal.ratio,
        ratioOf: "timer-only ceiling",
        goal: 0.9,
        messages: MESSAGES,
        details: {
          "round ratios": goal.ratioRange,
          "timer-only ceiling": Math.round(ceiling),
          ideal: IDEAL,
          "jetroute/ideal": Number((jetroute / IDEAL).toFixed(3)),
          "raw/ceiling": Number(
            pairedRatio(rates.raw, rates["timer-only ceiling"]).ratio.toFixed(3),
          ),
          "jetroute/raw": Number(pairedRatio(rates.jetroute, rates.raw).ratio.toFixed(3)),
          "jetroute, default maxAckPending": Math.round(defaultCap),
          "default maxAckPending/ceiling": Number((defaultCap / ceiling).toFixed(3)),
        },
      };
    } finally {
      await dropStream(ctx, STREAM);
    }
  },
};

function round(durable: string, maxAckPending: number | undefined = MAX_ACK_PENDING): ConsumeRound {
  return {
    stream: STREAM,
    subject: SUBJECT,
    durable,
    messages: MESSAGES,
    concurrency: CONCURRENCY,
    prefetch: PREFETCH,
    maxAckPending,
    work: () => sleep(WORK_MS),
  };
}

async function rawRound(ctx: BenchContext, durable: string) {
  const r = round(durable);
  const { messages, started } = await rawConsume(ctx, r);
  const all = signalled();
  let running = 0;
  let count = 0;
  let wake: (() => void) | undefined;
  for await (const m of messages) {
    while (running >= CONCURRENCY) await new Promise<void>((resolve) => (wake = resolve));
    running++;
    void (async () => {
      await r.work();
      m.ack();
      running--;
      const w = wake;
      wake = undefined;
      w?.();
      if (++count === MESSAGES) all.resolve();
    })();
    if (count + running >= MESSAGES) break;
  }
  await all.promise;
  return rawFinish(ctx, r, started);
}

function jetrouteRound(ctx: BenchContext, durable: string) {
  return jetrouteConsume(ctx, round(durable));
}

/** The jetroute side with the durable's default cap: the median of `ctx.rounds` warm rounds. */
async function defaultCapRate(ctx: BenchContext): Promise<number> {
  const rates: number[] = [];
  for (let i = 1; i <= ctx.rounds; i++) {
    const { messages, ms } = await jetrouteConsume(ctx, round(`io-jr-default-${i}`, undefined));
    rates.push(messages / (ms / 1000));
    ctx.log(`  round ${i} jetroute, default maxAckPending: ${Math.round(rates.at(-1) ?? 0)} msg/s`);
  }
  return median(rates);
}

/**
 * What `sleep(2)` at concurrency 64 reaches with no NATS at all (timers fire late under load),
 * over as many handler runs as a round has messages: the machine's own ceiling for this handler.
 */
async function timerCeiling(): Promise<{ messages: number; ms: number }> {
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (done < MESSAGES) {
        done++;
        await sleep(WORK_MS);
      }
    }),
  );
  return { messages: done, ms: performance.now() - started };
}
