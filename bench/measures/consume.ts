import type { JsMsg } from "@nats-io/jetstream";
import { type ConsumeRound, jetrouteConsume, rawConsume, rawFinish } from "../consume-rounds.js";
import { alternateSides, median, pairedRatio } from "../rounds.js";
import { dropStream, prefilledStream } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_CONSUME_MESSAGES ?? 50_000);
/** Pull batch on every side: raw `max_messages` and jetroute `withPrefetch`. */
const PREFETCH = 1000;
const STREAM = "BENCH_CONSUME";
const SUBJECT = "bench.consume";

/** A handler that does nothing, awaited on every side so each pays for one promise per message. */
const noop = async (): Promise<void> => {};

/**
 * Consume + ack of a prefilled stream with a noop handler: a Broker JetStream route at
 * `concurrency` vs two raw nats.js loops over `consume({ max_messages })` (sequential: with a
 * noop handler more concurrency buys them nothing):
 * - "raw, batched acks", the goal's baseline (0.95): acks queued and sent together in one
 *   `setImmediate` per event-loop turn, as jetroute's engine sends them, so the ratio is what
 *   jetroute's own bookkeeping costs;
 * - "raw, ack per message", a detail: one `m.ack()` (one socket write) per message, as the
 *   nats.js examples write it.
 * Every round makes a fresh durable (same config, same pull batch) on the same stream, so all
 * sides read the same stored messages; a round is timed from consumer creation until the last
 * ack has been flushed, and checked with consumer info (every message acked).
 */
export function consumeMeasure(concurrency: number): Measure {
  return {
    name: `consume-ack-c${concurrency}`,
    description: `JetStream consume + ack, noop handler, concurrency ${concurrency}, pull batch ${PREFETCH}`,
    async run(ctx) {
      await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
      try {
        const rates = await alternateSides(ctx, {
          "raw, batched acks": (round) => rawBatchedRound(ctx, `rawb-c${concurrency}-${round}`),
          "raw, ack per message": (round) => rawRound(ctx, `raw-c${concurrency}-${round}`),
          jetroute: (round) => jetrouteRound(ctx, `jr-c${concurrency}-${round}`, concurrency),
        });
        const batched = rates["raw, batched acks"];
        const perMessage = rates["raw, ack per message"];
        const goal = pairedRatio(rates.jetroute, batched);
        const vsPerMessage = pairedRatio(rates.jetroute, perMessage);
        return {
          raw: median(batched),
          jetroute: median(rates.jetroute),
          ratio: goal.ratio,
          ratioOf: "raw, batched acks",
          messages: MESSAGES,
          goal: 0.95,
          details: {
            "round ratios": goal.ratioRange,
            "raw, ack per message": Math.round(median(perMessage)),
            "vs raw, ack per message": Number(vsPerMessage.ratio.toFixed(3)),
            "round ratios, ack per message": vsPerMessage.ratioRange,
          },
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

/** The nats.js examples' loop: one `m.ack()`, i.e. one socket write, per message. */
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

/**
 * The same loop with acks sent the way jetroute's engine sends them: queued, and written
 * together by one `setImmediate` per event-loop turn (the iterator yields a pull's buffered
 * messages within one turn, so one write carries many acks).
 */
async function rawBatchedRound(ctx: BenchContext, durable: string) {
  const r = round(durable, 1);
  const { messages, started } = await rawConsume(ctx, r);
  const acks: JsMsg[] = [];
  const sendAcks = (): void => {
    for (const m of acks.splice(0)) m.ack();
  };
  let count = 0;
  for await (const m of messages) {
    await noop();
    if (acks.push(m) === 1) setImmediate(sendAcks);
    if (++count === MESSAGES) break;
  }
  // rawFinish waits a macrotask turn, so the last turn's queued acks are written before its flush.
  return rawFinish(ctx, r, started);
}

function jetrouteRound(ctx: BenchContext, durable: string, concurrency: number) {
  return jetrouteConsume(ctx, round(durable, concurrency));
}
