import { AckPolicy, type ConsumerMessages } from "@nats-io/jetstream";
import {
  Broker,
  type BrokerOption,
  type RouteOption,
  route,
  withConcurrency,
  withConnection,
  withDurable,
  withMaxAckPending,
  withPrefetch,
  withShutdownTimeout,
  withStream,
  withSubject,
} from "../src/index.js";
import { acksSent, signalled, verifyAllAcked } from "./support.js";
import type { BenchContext } from "./types.js";

/** One consume round over a prefilled stream, shared by the consume measures. */
export interface ConsumeRound {
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  readonly messages: number;
  readonly concurrency: number;
  readonly prefetch: number;
  /** The durable's `max_ack_pending`, the same on both sides. @default the server's (1000) */
  readonly maxAckPending?: number;
  /** The handler's work, the same on both sides. */
  readonly work: () => Promise<void>;
  /** More options for the jetroute side's Broker (e.g. withMetrics). @default none */
  readonly brokerOptions?: readonly BrokerOption[];
  /** More options for the jetroute side's route (e.g. withInbox). @default none */
  readonly routeOptions?: readonly RouteOption[];
}

/**
 * The raw side's start: a fresh explicit-ack durable and a `consume()` pulling `prefetch`, as
 * the nats.js examples write it. Returns the messages and when the round started.
 */
export async function rawConsume(
  ctx: BenchContext,
  r: ConsumeRound,
): Promise<{ messages: ConsumerMessages; started: number }> {
  const jsm = await ctx.conn.jetstreamManager();
  const started = performance.now();
  await jsm.consumers.add(r.stream, {
    durable_name: r.durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: r.subject,
    ...(r.maxAckPending === undefined ? {} : { max_ack_pending: r.maxAckPending }),
  });
  const consumer = await ctx.raw.js.consumers.get(r.stream, r.durable);
  return { messages: await consumer.consume({ max_messages: r.prefetch }), started };
}

/** The raw side's end: acks flushed, time taken, every message checked acked. */
export async function rawFinish(ctx: BenchContext, r: ConsumeRound, started: number) {
  await acksSent(ctx.raw.nc);
  const ms = performance.now() - started;
  await verifyAllAcked(ctx, r.stream, r.durable, r.messages);
  return { messages: r.messages, ms };
}

/**
 * The jetroute side: a Broker with one JetStream route doing `work`, timed from start until
 * the last ack is flushed, then stopped and checked with consumer info.
 */
export async function jetrouteConsume(ctx: BenchContext, r: ConsumeRound) {
  const all = signalled();
  let count = 0;
  const broker = new Broker(
    withConnection(ctx.conn),
    withShutdownTimeout("5s"),
    ...(r.brokerOptions ?? []),
  ).register(
    route(
      r.durable,
      async () => {
        await r.work();
        if (++count === r.messages) all.resolve();
      },
      withStream(r.stream),
      withSubject(r.subject),
      withDurable(r.durable),
      withConcurrency(r.concurrency),
      withPrefetch(r.prefetch),
      ...(r.maxAckPending === undefined ? [] : [withMaxAckPending(r.maxAckPending)]),
      ...(r.routeOptions ?? []),
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
  await verifyAllAcked(ctx, r.stream, r.durable, r.messages);
  return { messages: r.messages, ms, broker };
}
