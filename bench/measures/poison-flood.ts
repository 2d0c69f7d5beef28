import { setTimeout as sleep } from "node:timers/promises";
import {
  Broker,
  createProducer,
  fixed,
  reject,
  route,
  withBackoff,
  withConcurrency,
  withConnection,
  withDLQ,
  withMaxDeliver,
  withShutdownTimeout,
  withStream,
  withSubject,
} from "../../src/index.js";
import { alternate } from "../rounds.js";
import { dropStream, signalled } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_POISON_MESSAGES ?? 20_000);
const CONCURRENCY = 16;
const WORK_MS = 1;
/** One message in ten; of those, half rejected (dead-lettered at once), half always throwing. */
const poisonOf = (id: number): "reject" | "throw" | undefined =>
  id % 10 !== 0 ? undefined : id % 20 === 0 ? "reject" : "throw";
const HEALTHY = Array.from({ length: MESSAGES }, (_, id) => id).filter(
  (id) => poisonOf(id) === undefined,
).length;

/**
 * The chaos suite's 10% poison flood as a throughput measure (goal: healthy throughput
 * >= 0.9x of the no-poison run). One Broker route, handler `await sleep(1)`, concurrency 16,
 * maxDeliver 3 with a 50 ms backoff and a DLQ; a poison message is either rejected or throws on
 * every delivery. A round is timed from `run()` until the last healthy message is handled.
 * "raw" here is the clean run (healthy messages only) and "jetroute" the flood, so the ratio
 * is the flood's healthy rate over the clean rate, paired round by round.
 */
export const measure: Measure = {
  name: "poison-flood",
  description: `healthy rate with 10% poison vs none, handler awaits ${WORK_MS} ms, concurrency ${CONCURRENCY}`,
  async run(ctx) {
    const result = await alternate(
      ctx,
      (round) => floodRound(ctx, `clean${round}`, false),
      (round) => floodRound(ctx, `flood${round}`, true),
    );
    return {
      raw: result.raw,
      jetroute: result.jetroute,
      ratio: result.ratio,
      ratioOf: "clean run",
      goal: 0.9,
      messages: MESSAGES,
      details: { "round ratios": result.ratioRange, "healthy messages": HEALTHY },
    };
  },
};

async function floodRound(ctx: BenchContext, tag: string, withPoison: boolean) {
  const stream = `BENCH_POISON_${tag}`.toUpperCase();
  const subject = `bench.poison.${tag}`;
  const dlq = `bench.dlq.${tag}`;
  const jsm = await ctx.conn.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [subject], storage: "file" });
  await jsm.streams.add({ name: `${stream}_DLQ`, subjects: [dlq], storage: "file" });
  try {
    function* items() {
      for (let id = 0; id < MESSAGES; id++) {
        const poison = poisonOf(id);
        if (poison !== undefined && !withPoison) continue;
        yield { subject, payload: poison === undefined ? { id } : { id, poison } };
      }
    }
    await createProducer(ctx.conn).publishWindowed(items());

    const healthyDone = signalled();
    let healthy = 0;
    const broker = new Broker(withConnection(ctx.conn), withShutdownTimeout("5s")).register(
      route(
        tag,
        async (msg) => {
          const body = msg.json<{ id: number; poison?: "reject" | "throw" }>();
          if (body.poison === "reject") return reject("poison");
          if (body.poison === "throw") throw new Error("poison");
          await sleep(WORK_MS);
          if (++healthy === HEALTHY) healthyDone.resolve();
          return undefined;
        },
        withStream(stream),
        withSubject(subject),
        withConcurrency(CONCURRENCY),
        withMaxDeliver(3),
        withBackoff(fixed(50)),
        withDLQ(dlq),
      ),
    );
    const stop = new AbortController();
    const started = performance.now();
    const running = broker.run(stop.signal);
    await Promise.race([healthyDone.promise, running]);
    const ms = performance.now() - started;
    stop.abort();
    await running;
    return { messages: HEALTHY, ms };
  } finally {
    await dropStream(ctx, stream);
    await dropStream(ctx, `${stream}_DLQ`);
  }
}
