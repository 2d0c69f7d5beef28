import { type ConsumeRound, jetrouteConsume, rawConsume, rawFinish } from "../consume-rounds.js";
import { alternate } from "../rounds.js";
import { dropStream, prefilledStream } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_CONSUME_MESSAGES ?? 50_000);
/** Pull batch on both sides: raw `max_messages` and jetroute `withPrefetch`. */
const PREFETCH = 1000;
const STREAM = "BENCH_CONSUME";
const SUBJECT = "bench.consume";

/** A handler that does nothing, awaited on both sides so both pay for one promise per message. */
const noop = async (): Promise<void> => {};

/**
 * Consume + ack of a prefilled stream with a noop handler: a Broker JetStream route at
 * `concurrency` vs nats.js `consume({ max_messages })` with an `m.ack()` loop (the raw loop is
 * sequential: with a noop handler more concurrency buys it nothing). Each round makes a fresh
 * durable on the same stream, so both sides read the same stored messages; a round is timed from
 * consumer creation until the last ack has been flushed, and checked with consumer info.
 */
export function consumeMeasure(concurrency: number): Measure {
  return {
    name: `consume-ack-c${concurrency}`,
    description: `JetStream consume + ack, noop handler, concurrency ${concurrency}, pull batch ${PREFETCH}`,
    async run(ctx) {
      await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
      try {
        const result = await alternate(
          ctx,
          (round) => rawRound(ctx, `raw-c${concurrency}-${round}`),
          (round) => jetrouteRound(ctx, `jr-c${concurrency}-${round}`, concurrency),
        );
        return {
          raw: result.raw,
          jetroute: result.jetroute,
          ratio: result.ratio,
          messages: MESSAGES,
          goal: 0.9,
          details: { "round ratios": result.ratioRange },
        };
      } finally {
        await dropStream(ctx, STREAM);
      }
    },
  };
}

function round(durable: string, concurrency: number): ConsumeRound {
  return {
    stream: STREAM,
    subject: SUBJECT,
    durable,
    messages: MESSAGES,
    concurrency,
    prefetch: PREFETCH,
    work: noop,
  };
}

async function rawRound(ctx: BenchContext, durable: string) {
  const r = round(durable, 1);
  const { messages, started } = await rawConsume(ctx, r);
  let count = 0;
  for await (const m of messages) {
    await noop();
    m.ack();
    if (++count === MESSAGES) break;
  }
  return rawFinish(ctx, r, started);
}

function jetrouteRound(ctx: BenchContext, durable: string, concurrency: number) {
  return jetrouteConsume(ctx, round(durable, concurrency));
}
