import { withMetrics } from "../../src/index.js";
import { type ConsumeRound, jetrouteConsume } from "../consume-rounds.js";
import { alternateSides, median, pairedRatio } from "../rounds.js";
import { dropStream, prefilledStream } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_CONSUME_MESSAGES ?? 50_000);
const PREFETCH = 1000;
const STREAM = "BENCH_METRICS";
const SUBJECT = "bench.metrics";

const noop = async (): Promise<void> => {};

/**
 * What `withMetrics` costs: the consume + ack measure's jetroute side (noop handler, pull batch
 * 1000) with metrics on vs off, alternated in the same run on the same stored messages (goal:
 * on >= 0.90 of off). Each metrics-on round is scraped once afterwards and checked: the
 * registry must count every message as received, acked and timed.
 */
export function metricsMeasure(concurrency: number): Measure {
  return {
    name: `consume-ack-metrics-c${concurrency}`,
    description: `JetStream consume + ack with withMetrics on vs off, noop handler, concurrency ${concurrency}`,
    async run(ctx) {
      await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
      try {
        const rates = await alternateSides(ctx, {
          "metrics off": (round) =>
            jetrouteConsume(ctx, spec(`off-c${concurrency}-${round}`, concurrency)),
          "metrics on": (round) => metricsOnRound(ctx, `on-c${concurrency}-${round}`, concurrency),
        });
        const on = rates["metrics on"];
        const off = rates["metrics off"];
        const r = pairedRatio(on, off);
        return {
          raw: median(off),
          jetroute: median(on),
          ratio: r.ratio,
          ratioOf: "jetroute with metrics off",
          messages: MESSAGES,
          goal: 0.9,
          details: { "round ratios": r.ratioRange },
        };
      } finally {
        await dropStream(ctx, STREAM);
      }
    },
  };
}

function spec(durable: string, concurrency: number, metrics = false): ConsumeRound {
  return {
    stream: STREAM,
    subject: SUBJECT,
    durable,
    messages: MESSAGES,
    concurrency,
    prefetch: PREFETCH,
    work: noop,
    brokerOptions: metrics ? [withMetrics()] : [],
  };
}

async function metricsOnRound(ctx: BenchContext, durable: string, concurrency: number) {
  const out = await jetrouteConsume(ctx, spec(durable, concurrency, true));
  const text = (await out.broker.metricsRegistry()?.metrics()) ?? "";
  const count = (name: string) =>
    Number(new RegExp(`^${name}\\{route="${durable}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1]);
  const timed = Number(
    new RegExp(
      `^jetroute_handler_duration_seconds_count\\{[^}]*route="${durable}"[^}]*outcome="acked"\\} (\\d+)$`,
      "m",
    ).exec(text)?.[1],
  );
  if (count("jetroute_messages_received_total") < MESSAGES || timed !== MESSAGES) {
    throw new Error(
      `metrics round ${durable} counted ${count("jetroute_messages_received_total")} received, ${timed} timed of ${MESSAGES}`,
    );
  }
  return out;
}
