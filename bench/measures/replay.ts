import { DeliverPolicy } from "@nats-io/jetstream";
import { replay } from "../../src/replay/index.js";
import { route, withStream, withSubject } from "../../src/router/index.js";
import { alternate } from "../rounds.js";
import { dropStream, prefilledStream } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_REPLAY_MESSAGES ?? 50_000);
/** The raw side's pull batch: what `replay` pulls ahead too. */
const BATCH = 500;
const STREAM = "BENCH_REPLAY";
const SUBJECT = "bench.replay";

/** A handler that does nothing, awaited on both sides so each pays for one promise per message. */
const noop = async (): Promise<void> => {};

/**
 * Replay of a whole prefilled stream with a noop handler: `replay(conn, route, { from: "all" })`
 * (stream info, ordered consumer, pipeline and settlement table per message, summary) vs a raw
 * nats.js ordered consumer reading the same range with `consume({ max_messages })` and stopping
 * at the last sequence. Both timed from the call / consumer creation to the last message.
 */
export const measure: Measure = {
  name: "replay",
  description: `replay of ${MESSAGES} stored messages, noop handler, vs a raw ordered consumer`,
  async run(ctx) {
    await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
    try {
      const r = route("bench-replay", noop, withStream(STREAM), withSubject(SUBJECT));
      const out = await alternate(
        ctx,
        () => rawRound(ctx),
        async () => {
          const t0 = performance.now();
          const s = await replay(ctx.conn, r, { from: "all" });
          const ms = performance.now() - t0;
          if (s.handled !== MESSAGES) throw new Error(`replay handled ${s.handled} of ${MESSAGES}`);
          return { messages: MESSAGES, ms };
        },
      );
      return {
        raw: out.raw,
        jetroute: out.jetroute,
        ratio: out.ratio,
        messages: MESSAGES,
        goal: 0.9,
        details: { "round ratios": out.ratioRange },
      };
    } finally {
      await dropStream(ctx, STREAM);
    }
  },
};

async function rawRound(ctx: BenchContext): Promise<{ messages: number; ms: number }> {
  const t0 = performance.now();
  const c = await ctx.raw.js.consumers.get(STREAM, {
    filter_subjects: SUBJECT,
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await c.consume({ max_messages: BATCH });
  let n = 0;
  for await (const m of messages) {
    await noop();
    n++;
    if (m.info.streamSequence >= MESSAGES || m.info.pending === 0) break;
  }
  const ms = performance.now() - t0;
  messages.stop();
  await messages.closed();
  await c.delete().catch(() => {});
  if (n !== MESSAGES) throw new Error(`raw read ${n} of ${MESSAGES}`);
  return { messages: n, ms };
}
