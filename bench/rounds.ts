import type { BenchContext } from "./types.js";

/**
 * One round of one side: sets up (unmeasured), times only the work itself, cleans up, and says
 * how many messages moved in how many milliseconds.
 */
export type Round = (round: number) => Promise<{ messages: number; ms: number }>;

/** What `alternate` measured. */
export interface Alternated {
  /** Each side's median rate. */
  readonly raw: number;
  readonly jetroute: number;
  /**
   * The median of the rounds' own jetroute/raw ratios. The two sides of a round run back to
   * back, so a disk flush or a busy neighbour slows both; the ratio of the medians would
   * compare rates taken at different moments, which on this machine swing ±15% round to round.
   */
  readonly ratio: number;
  /** The lowest and highest round ratio, e.g. "0.91-1.04". */
  readonly ratioRange: string;
}

/**
 * Runs `raw` and `jetroute` alternately (in ABBA order), `ctx.rounds` times each, after one
 * unmeasured warm-up of each, and returns each side's median msg/s and the median of the round
 * ratios. Alternating spreads disk and GC noise over both sides instead of letting one side run
 * on a warmer or busier machine.
 */
export async function alternate(
  ctx: BenchContext,
  raw: Round,
  jetroute: Round,
): Promise<Alternated> {
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
  const ratios = rates.jetroute.map((jr, i) => jr / (rates.raw[i] ?? Number.NaN));
  return {
    raw: median(rates.raw),
    jetroute: median(rates.jetroute),
    ratio: median(ratios),
    ratioRange: `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid] ?? Number.NaN;
  return ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}
