import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { createProducer } from "../../src/producer/index.js";
import { alternate } from "../rounds.js";
import { rawWindowed, withFreshStream } from "../support.js";
import type { Measure } from "../types.js";

const WINDOW = 1000;
const SIZE = 128;
const MESSAGES = Number(process.env.BENCH_PUBLISH_MESSAGES ?? 50_000);
const WARMUP_MESSAGES = 5_000;

/**
 * JetStream publish throughput with 1000 publishes in flight, 128-byte payloads, file store:
 * `js.publish` in a hand-written window (nats.js defaults) vs `Producer.publishWindowed`, and
 * the same again against a raw client with async traces off, as jetroute's connection has them.
 */
export const measure: Measure = {
  name: "publish",
  description: `JetStream publish, ${WINDOW} in flight, ${SIZE} B payloads, file store`,
  async run(ctx) {
    const payload = new Uint8Array(SIZE).fill(120);
    const producer = createProducer(ctx.conn);
    const count = (round: number) => (round === 0 ? WARMUP_MESSAGES : MESSAGES);
    const jetrouteRound = (tag: string, n: number) =>
      withFreshStream(ctx, "publish", tag, async (subject) => {
        const started = performance.now();
        const r = await producer.publishWindowed(items(subject, payload, n), { window: WINDOW });
        const ms = performance.now() - started;
        if (r.published !== n) throw new Error(`published ${r.published} of ${n}`);
        return { messages: n, ms };
      });
    const rawRound = (js: JetStreamClient, tag: string, n: number) =>
      withFreshStream(ctx, "publish", tag, async (subject) => {
        const started = performance.now();
        await rawWindowed(js, subject, payload, n, WINDOW);
        return { messages: n, ms: performance.now() - started };
      });

    const result = await alternate(
      ctx,
      (round) => rawRound(ctx.raw.js, `raw${round}`, count(round)),
      (round) => jetrouteRound(`jr${round}`, count(round)),
    );
    // The same against a raw client that also skips nats.js's per-publish stack captures
    // (jetroute's default): what jetroute's own code costs.
    const untraced = await natsConnect({ servers: ctx.url, noAsyncTraces: true });
    let same: Awaited<ReturnType<typeof alternate>>;
    try {
      const js = jetstream(untraced);
      same = await alternate(
        ctx,
        (round) => rawRound(js, `rawnt${round}`, count(round)),
        (round) => jetrouteRound(`jrnt${round}`, count(round)),
      );
    } finally {
      await untraced.close();
    }
    return {
      raw: result.raw,
      jetroute: result.jetroute,
      ratio: result.ratio,
      messages: MESSAGES,
      goal: 0.95,
      details: {
        "round ratios": result.ratioRange,
        "raw, noAsyncTraces": Math.round(same.raw),
        "vs raw, noAsyncTraces": Number(same.ratio.toFixed(3)),
        "round ratios, noAsyncTraces": same.ratioRange,
      },
    };
  },
};

function* items(subject: string, payload: Uint8Array, n: number) {
  for (let i = 0; i < n; i++) yield { subject, payload };
}
