import { createProducer } from "../../src/producer/index.js";
import { alternate } from "../rounds.js";
import { rawWindowed } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const WINDOW = 1000;
const SIZE = 128;
const MESSAGES = Number(process.env.BENCH_PUBLISH_MESSAGES ?? 50_000);
const WARMUP_MESSAGES = 5_000;

/**
 * JetStream publish throughput with 1000 publishes in flight, 128-byte payloads, file store:
 * `js.publish` in a hand-written window vs `Producer.publishWindowed`.
 */
export const measure: Measure = {
  name: "publish",
  description: `JetStream publish, ${WINDOW} in flight, ${SIZE} B payloads, file store`,
  async run(ctx) {
    const payload = new Uint8Array(SIZE).fill(120);
    const producer = createProducer(ctx.conn);
    const count = (round: number) => (round === 0 ? WARMUP_MESSAGES : MESSAGES);

    const result = await alternate(
      ctx,
      (round) =>
        withFreshStream(ctx, `raw${round}`, async (subject) => {
          const n = count(round);
          const started = performance.now();
          await rawWindowed(ctx.raw.js, subject, payload, n, WINDOW);
          return { messages: n, ms: performance.now() - started };
        }),
      (round) =>
        withFreshStream(ctx, `jr${round}`, async (subject) => {
          const n = count(round);
          const started = performance.now();
          const r = await producer.publishWindowed(items(subject, payload, n), { window: WINDOW });
          const ms = performance.now() - started;
          if (r.published !== n) throw new Error(`published ${r.published} of ${n}`);
          return { messages: n, ms };
        }),
    );
    return { raw: result.raw, jetroute: result.jetroute, messages: MESSAGES, goal: 0.95 };
  },
};

function* items(subject: string, payload: Uint8Array, n: number) {
  for (let i = 0; i < n; i++) yield { subject, payload };
}

/** A file-store stream just for this round, deleted afterwards (outside the timed part). */
async function withFreshStream<T>(
  ctx: BenchContext,
  tag: string,
  body: (subject: string) => Promise<T>,
): Promise<T> {
  const jsm = await ctx.conn.jetstreamManager();
  const name = `BENCH_PUBLISH_${tag}`.toUpperCase();
  const subject = `bench.publish.${tag}`;
  await jsm.streams.add({ name, subjects: [subject], storage: "file" });
  try {
    return await body(subject);
  } finally {
    await jsm.streams.delete(name);
  }
}
