import type { BenchContext } from "./types.js";

/**
 * One round of one side: sets up (unmeasured), times only the work itself, cleans up, and says
 * how many messages moved in how many milliseconds.
 */
export type Round = (round: number) => Promise<{ messages: number; ms: number }>;

/**
 * Runs `raw` and `jetroute` alternately (in ABBA order), `ctx.rounds` times each, after one
 * unmeasured warm-up of each, and returns each side's median msg/s. Alternating spreads disk and
 * GC noise over both sides instead of letting one side run on a warmer or busier machine.
 */
export async function alternate(
  ctx: BenchContext,
  raw: Round,
  jetroute: Round,
): Promise<{ raw: number; jetroute: number }> {
  // Round 0 is the warm-up (JIT, connection buffers, store files); not counted.
  await raw(0);
  await jetroute(0);
  const rates = { raw: [] as number[], jetroute: [] as number[] };
  for (let round = 1; round <= ctx.rounds; round++) {
    // ABBA order: whichever side runs second in a round (warmer store, more garbage) changes.
    const order = round % 2 === 1 ? (["raw", "jetroute"] as const) : (["jetroute", "raw"] as const);
    for (const side of order) {
      const { messages, ms } = await (side === "raw" ? raw : jetroute)(round);
      const rate = messages / (ms / 1000);
      rates[side].push(rate);
      ctx.log(`  round ${round} ${side}: ${Math.round(rate)} msg/s`);
    }
  }
  return { raw: median(rates.raw), jetroute: median(rates.jetroute) };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid] ?? Number.NaN;
  return ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}
