import type { NatsConnection } from "@nats-io/transport-node";
import {
  Broker,
  route,
  withConcurrency,
  withConnection,
  withFanOut,
  withMaxPending,
  withShutdownTimeout,
  withSubject,
} from "../../src/index.js";
import { alternate } from "../rounds.js";
import { rawConnection, signalled } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_FANOUT_MESSAGES ?? 100_000);
/** Published between flushes: bounds what is in flight so neither side is a slow consumer. */
const BURST = 1000;
const CONCURRENCY = 16;
const payload = new Uint8Array(128).fill(98);

/**
 * Core fan-out: a Broker fan-out route (noop handler, concurrency 16, pending bound above one
 * burst) vs a raw `nc.subscribe` callback, both counting messages. One publisher connection
 * sends bursts of 1000 with a flush after each; a round is timed from the first publish until
 * the subscriber has counted every message (goal 0.90 of the raw rate). The fan-out route would
 * drop past its pending bound; a round that lost a message fails (there should be none).
 */
export const measure: Measure = {
  name: "fanout",
  description: `core fan-out subscription, noop handler, ${BURST}-message bursts`,
  async run(ctx) {
    const publisher = await rawConnection(ctx);
    try {
      const result = await alternate(
        ctx,
        (round) => rawRound(ctx, publisher, `bench.fan.raw.${round}`),
        (round) => jetrouteRound(ctx, publisher, `bench.fan.jr.${round}`),
      );
      return {
        raw: result.raw,
        jetroute: result.jetroute,
        ratio: result.ratio,
        goal: 0.9,
        messages: MESSAGES,
        details: { "round ratios": result.ratioRange },
      };
    } finally {
      await publisher.close();
    }
  },
};

async function publishAll(nc: NatsConnection, subject: string): Promise<void> {
  for (let i = 0; i < MESSAGES; i += BURST) {
    for (let j = 0; j < BURST && i + j < MESSAGES; j++) nc.publish(subject, payload);
    await nc.flush();
  }
}

async function rawRound(ctx: BenchContext, publisher: NatsConnection, subject: string) {
  const all = signalled();
  let count = 0;
  const sub = ctx.raw.nc.subscribe(subject, {
    callback: (err) => {
      if (err === null && ++count === MESSAGES) all.resolve();
    },
  });
  await ctx.raw.nc.flush();
  const started = performance.now();
  await publishAll(publisher, subject);
  await all.promise;
  const ms = performance.now() - started;
  sub.unsubscribe();
  return { messages: MESSAGES, ms };
}

async function jetrouteRound(ctx: BenchContext, publisher: NatsConnection, subject: string) {
  const all = signalled();
  let count = 0;
  const broker = new Broker(withConnection(ctx.conn), withShutdownTimeout("5s")).register(
    route(
      `bench-fan-${subject}`.replace(/\./g, "-"),
      async () => {
        if (++count === MESSAGES) all.resolve();
      },
      withSubject(subject),
      withFanOut(),
      withConcurrency(CONCURRENCY),
      withMaxPending(4 * BURST),
    ),
  );
  const stop = new AbortController();
  const running = broker.run(stop.signal);
  await Promise.race([broker.started(), running]);
  const started = performance.now();
  await publishAll(publisher, subject);
  // A dropped message never arrives: fail the round rather than hang.
  const timeout = setTimeout(() => stop.abort(), 60_000);
  await Promise.race([all.promise, running]);
  clearTimeout(timeout);
  const ms = performance.now() - started;
  stop.abort();
  await running;
  if (count < MESSAGES) throw new Error(`fan-out route got ${count} of ${MESSAGES} (dropped?)`);
  return { messages: MESSAGES, ms };
}
