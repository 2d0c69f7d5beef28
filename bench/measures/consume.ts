import { AckPolicy } from "@nats-io/jetstream";
import {
  Broker,
  route,
  withConcurrency,
  withConnection,
  withDurable,
  withPrefetch,
  withShutdownTimeout,
  withStream,
  withSubject,
} from "../../src/index.js";
import { alternate } from "../rounds.js";
import { acksSent, dropStream, prefilledStream, signalled, verifyAllAcked } from "../support.js";
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
        return { raw: result.raw, jetroute: result.jetroute, messages: MESSAGES, goal: 0.9 };
      } finally {
        await dropStream(ctx, STREAM);
      }
    },
  };
}

async function rawRound(ctx: BenchContext, durable: string) {
  const jsm = await ctx.conn.jetstreamManager();
  const started = performance.now();
  await jsm.consumers.add(STREAM, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: SUBJECT,
  });
  const consumer = await ctx.raw.js.consumers.get(STREAM, durable);
  const messages = await consumer.consume({ max_messages: PREFETCH });
  let count = 0;
  for await (const m of messages) {
    await noop();
    m.ack();
    if (++count === MESSAGES) break;
  }
  await acksSent(ctx.raw.nc);
  const ms = performance.now() - started;
  await verifyAllAcked(ctx, STREAM, durable, MESSAGES);
  return { messages: MESSAGES, ms };
}

async function jetrouteRound(ctx: BenchContext, durable: string, concurrency: number) {
  const all = signalled();
  let count = 0;
  const broker = new Broker(withConnection(ctx.conn), withShutdownTimeout("5s")).register(
    route(
      durable,
      async () => {
        if (++count === MESSAGES) all.resolve();
      },
      withStream(STREAM),
      withSubject(SUBJECT),
      withDurable(durable),
      withConcurrency(concurrency),
      withPrefetch(PREFETCH),
    ),
  );
  const stop = new AbortController();
  const started = performance.now();
  const running = broker.run(stop.signal);
  await Promise.race([all.promise, running]);
  await acksSent(ctx.conn.nats);
  const ms = performance.now() - started;
  stop.abort();
  await running;
  await verifyAllAcked(ctx, STREAM, durable, MESSAGES);
  return { messages: MESSAGES, ms };
}
