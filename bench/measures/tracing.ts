import type { JsMsg } from "@nats-io/jetstream";
import {
  Broker,
  type BrokerOption,
  createProducer,
  route,
  withConcurrency,
  withConnection,
  withDurable,
  withPrefetch,
  withShutdownTimeout,
  withStream,
  withSubject,
  withTracing,
} from "../../src/index.js";
import { type ConsumeRound, rawConsume, rawFinish } from "../consume-rounds.js";
import { alternateSides, median, pairedRatio } from "../rounds.js";
import {
  acksSent,
  dropStream,
  prefilledStream,
  rawWindowed,
  signalled,
  verifyAllAcked,
} from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_CONSUME_MESSAGES ?? 50_000);
const PUBLISHES = Number(process.env.BENCH_PUBLISH_MESSAGES ?? 50_000);
const CONCURRENCY = 16;
const PREFETCH = 1000;
const STREAM = "BENCH_TRACING";
const SUBJECT = "bench.tracing";
const noop = async (): Promise<void> => {};

/**
 * What OpenTelemetry tracing costs with no SDK registered (the default for every broker and
 * producer): consume + ack at concurrency 16 with a noop handler, and a windowed JetStream
 * publish, each as raw nats.js vs jetroute with tracing on (the default) vs `withTracing(false)`,
 * alternated in the same run. The ratio is tracing on / tracing off, paired round by round; the
 * goal is no measurable cost (1.0 within the machine's noise).
 */
export const measure: Measure = {
  name: "tracing-noop",
  description: `tracing on (no SDK) vs withTracing(false): consume + ack c${CONCURRENCY}, windowed publish`,
  async run(ctx) {
    await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
    let consume: Record<"raw" | "tracing off" | "tracing on", number[]>;
    try {
      consume = await alternateSides(ctx, {
        raw: (r) => rawBatchedRound(ctx, `tr-raw-${r}`),
        "tracing off": (r) => jetrouteRound(ctx, `tr-off-${r}`, withTracing(false)),
        "tracing on": (r) => jetrouteRound(ctx, `tr-on-${r}`),
      });
    } finally {
      await dropStream(ctx, STREAM);
    }
    const publish = await alternateSides(ctx, {
      raw: (r) => publishRound(ctx, `raw${r}`, undefined),
      "tracing off": (r) => publishRound(ctx, `off${r}`, false),
      "tracing on": (r) => publishRound(ctx, `on${r}`, true),
    });
    const onOff = pairedRatio(consume["tracing on"], consume["tracing off"]);
    const onRaw = pairedRatio(consume["tracing on"], consume.raw);
    const offRaw = pairedRatio(consume["tracing off"], consume.raw);
    const pubOnOff = pairedRatio(publish["tracing on"], publish["tracing off"]);
    const pubOnRaw = pairedRatio(publish["tracing on"], publish.raw);
    const pubOffRaw = pairedRatio(publish["tracing off"], publish.raw);
    return {
      raw: median(consume["tracing off"]),
      jetroute: median(consume["tracing on"]),
      ratio: onOff.ratio,
      ratioOf: "jetroute, withTracing(false)",
      messages: MESSAGES,
      goal: 0.95,
      details: {
        "consume round ratios": onOff.ratioRange,
        "consume raw": Math.round(median(consume.raw)),
        "consume on vs raw": Number(onRaw.ratio.toFixed(3)),
        "consume off vs raw": Number(offRaw.ratio.toFixed(3)),
        "publish on vs off": Number(pubOnOff.ratio.toFixed(3)),
        "publish round ratios": pubOnOff.ratioRange,
        "publish on vs raw": Number(pubOnRaw.ratio.toFixed(3)),
        "publish off vs raw": Number(pubOffRaw.ratio.toFixed(3)),
      },
    };
  },
};

function consumeRound(durable: string): ConsumeRound {
  return {
    stream: STREAM,
    subject: SUBJECT,
    durable,
    messages: MESSAGES,
    concurrency: 1,
    prefetch: PREFETCH,
    work: noop,
  };
}

/** The consume measure's baseline: acks queued and written once per event-loop turn. */
async function rawBatchedRound(ctx: BenchContext, durable: string) {
  const r = consumeRound(durable);
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
  return rawFinish(ctx, r, started);
}

async function jetrouteRound(ctx: BenchContext, durable: string, ...options: BrokerOption[]) {
  const all = signalled();
  let count = 0;
  const broker = new Broker(
    withConnection(ctx.conn),
    withShutdownTimeout("5s"),
    ...options,
  ).register(
    route(
      durable,
      async () => {
        if (++count === MESSAGES) all.resolve();
      },
      withStream(STREAM),
      withSubject(SUBJECT),
      withDurable(durable),
      withConcurrency(CONCURRENCY),
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

/** One windowed publish of PUBLISHES 128 B messages to a fresh stream: raw, or jetroute. */
async function publishRound(ctx: BenchContext, tag: string, tracing: boolean | undefined) {
  const jsm = await ctx.conn.jetstreamManager();
  const name = `BENCH_TRACING_PUB_${tag}`.toUpperCase();
  const subject = `bench.tracing.pub.${tag}`;
  const payload = new Uint8Array(128).fill(120);
  await jsm.streams.add({ name, subjects: [subject], storage: "file" });
  try {
    const started = performance.now();
    if (tracing === undefined) {
      await rawWindowed(ctx.raw.js, subject, payload, PUBLISHES);
    } else {
      const producer = createProducer(ctx.conn, withTracing(tracing));
      const r = await producer.publishWindowed(items(subject, payload), { window: 1000 });
      if (r.published !== PUBLISHES) throw new Error(`published ${r.published} of ${PUBLISHES}`);
    }
    return { messages: PUBLISHES, ms: performance.now() - started };
  } finally {
    await jsm.streams.delete(name);
  }
}

function* items(subject: string, payload: Uint8Array) {
  for (let i = 0; i < PUBLISHES; i++) yield { subject, payload };
}
