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
  const rates = await alternateSides(ctx, { raw, jetroute });
  return {
    ...pairedRatio(rates.jetroute, rates.raw),
    raw: median(rates.raw),
    jetroute: median(rates.jetroute),
  };
}

/**
 * `alternate` for any number of sides: one unmeasured warm-up of each, then `ctx.rounds`
 * rounds, each running every side once, in the listed order on odd rounds and reversed on even
 * ones (ABC CBA ...). Returns every side's msg/s per round, round 1 first, so that ratios can
 * be paired round by round (`pairedRatio`).
 */
export async function alternateSides<K extends string>(
  ctx: BenchContext,
  sides: Readonly<Record<K, Round>>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(sides) as K[];
  const rates = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  // Round 0 is the warm-up (JIT, connection buffers, store files); not counted.
  for (const name of names) await sides[name](0);
  for (let round = 1; round <= ctx.rounds; round++) {
    // Whichever side runs last in a round (warmer store, more garbage) changes every round.
    const order = round % 2 === 1 ? names : [...names].reverse();
    for (const side of order) {
      const { messages, ms } = await sides[side](round);
      const rate = messages / (ms / 1000);
      rates[side].push(rate);
      ctx.log(`  round ${round} ${side}: ${Math.round(rate)} msg/s`);
    }
  }
  return rates;
}

/** The median and range of `of[i] / over[i]`, the per-round ratios of two sides' rates. */
export function pairedRatio(
  of: readonly number[],
  over: readonly number[],
): { ratio: number; ratioRange: string } {
  const ratios = of.map((v, i) => v / (over[i] ?? Number.NaN));
  return {
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
