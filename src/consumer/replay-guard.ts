import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";

/**
 * Default window of a {@link ReplayGuard}: 2^20 stream sequences, 128 KiB of bits. A route whose
 * ack floor is pinned (one message parked by a long retry delay) still recognises every replay
 * until a million stream sequences have gone by behind it, or a million / k of its own
 * messages when it filters one subject in k of an interleaved stream.
 */
export const DEFAULT_REPLAY_GUARD_CAPACITY = 2 ** 20;

/** Largest accepted capacity: 2^30 sequences, 128 MiB of bits. */
const MAX_CAPACITY = 2 ** 30;

/** What a route's replay guard holds (the engine's `ReplayGuard`, `stats()` in `broker.stats()`). */
export interface ReplayGuardStats {
  /** The consumer's ack floor as last reported (a stream sequence; 0 before any). */
  readonly floor: number;
  /** Settled sequences recorded above the floor (bits set in the window). */
  readonly tracked: number;
  /** Width of the window in stream sequences (fixed at construction). */
  readonly capacity: number;
  /** Bytes of the window's bitmap: `capacity / 8`, allocated once, never grows. */
  readonly bytes: number;
  /**
   * Settled sequences forgotten before the floor covered them: the window slid past them, or
   * they were settled below it. A replay of one of them runs its handler again. Cumulative.
   */
  readonly evicted: number;
}

/**
 * Remembers which stream sequences a route settled for good (acked or terminated), so a
 * message the server sends again (a recreated consumer's replay, a redelivery whose ack was
 * lost, nats-server 2.9's pull-request rollback) is acked again without running its handler.
 *
 * Memory is fixed whatever is settled: one bit per sequence in a window of `capacity`
 * sequences starting just above the consumer's ack floor, preallocated (`capacity / 8` bytes),
 * used as a ring; `add` and `has` are O(1). Everything at or below the floor counts as settled.
 *
 * The trade-off: when a sequence beyond the window is settled (the floor is pinned, e.g. by a
 * message waiting out a long retry delay, while `capacity` more sequences go by), the window
 * slides up and forgets its oldest records (counted in `evicted`); a sequence settled below
 * the window is not recorded at all. A replay of a forgotten sequence runs its handler a
 * second time, which at-least-once delivery allows. Sequences of other subjects in the stream
 * take window room too: a route filtering one subject in k covers `capacity / k` of its own.
 * @example
 * const guard = new ReplayGuard();
 * guard.add(7);
 * guard.has(7); // true
 * guard.raiseFloor(5); // 1..5 settled, 7 still recorded
 * guard.stats(); // { floor: 5, tracked: 1, capacity: 1048576, bytes: 131072, evicted: 0 }
 */
export class ReplayGuard {
  readonly #capacity: number;
  readonly #bits: Uint32Array;
  #floor = 0;
  /** First sequence of the window: sequences `[#base, #base + capacity)` map to the ring. */
  #base = 1;
  #tracked = 0;
  #evicted = 0;

  /**
   * @param capacity window width in stream sequences; rounded up to a multiple of 32.
   * @default 1048576 ({@link DEFAULT_REPLAY_GUARD_CAPACITY}, 128 KiB)
   * @throws ErrInvalidOption when `capacity` is not an integer in 1..2^30.
   */
  constructor(capacity: number = DEFAULT_REPLAY_GUARD_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new ErrInvalidOption(
        invalidValueMessage("ReplayGuard capacity", capacity, "an integer in 1..2^30"),
      );
    }
    this.#capacity = Math.ceil(capacity / 32) * 32;
    this.#bits = new Uint32Array(this.#capacity / 32);
  }

  /** The consumer's ack floor as last raised (a stream sequence; 0 before any). */
  get floor(): number {
    return this.#floor;
  }

  /** True when `seq` is at or below the floor, or was recorded above it and not forgotten. */
  has(seq: number): boolean {
    if (seq <= this.#floor) return true;
    if (seq < this.#base || seq >= this.#base + this.#capacity) return false;
    const i = seq % this.#capacity;
    return ((this.#bits[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  /** Records a settled sequence; slides the window up (forgetting the oldest) to reach it. */
  add(seq: number): void {
    if (seq <= this.#floor) return;
    if (seq < this.#base) {
      // Below a window that already slid past it: cannot be recorded.
      this.#evicted++;
      return;
    }
    const end = this.#base + this.#capacity;
    if (seq >= end) {
      const base = seq - this.#capacity + 1;
      this.#evicted += this.#forget(base);
      this.#base = base;
    }
    const i = seq % this.#capacity;
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    const word = this.#bits[w] ?? 0;
    if ((word & bit) !== 0) return;
    this.#bits[w] = word | bit;
    this.#tracked++;
  }

  /** The consumer's ack floor moved up to `floor`: forgets the records it now covers. */
  raiseFloor(floor: number): void {
    if (floor <= this.#floor) return;
    this.#floor = floor;
    if (floor < this.#base) return;
    this.#forget(floor + 1);
    this.#base = floor + 1;
  }

  /** The stream was re-created: forgets every record and the floor (back to 0). */
  reset(): void {
    this.#bits.fill(0);
    this.#floor = 0;
    this.#base = 1;
    this.#tracked = 0;
  }

  /** Size and contents; see {@link ReplayGuardStats}. */
  stats(): ReplayGuardStats {
    return {
      floor: this.#floor,
      tracked: this.#tracked,
      capacity: this.#capacity,
      bytes: this.#bits.byteLength,
      evicted: this.#evicted,
    };
  }

  /** Clears the records of `[#base, upTo)` (at most the whole window); returns how many. */
  #forget(upTo: number): number {
    const count = Math.min(upTo - this.#base, this.#capacity);
    if (count <= 0 || this.#tracked === 0) return 0;
    if (count === this.#capacity) {
      const dropped = this.#tracked;
      this.#bits.fill(0);
      this.#tracked = 0;
      return dropped;
    }
    const from = this.#base % this.#capacity;
    const to = from + count;
    const dropped =
      to <= this.#capacity
        ? this.#clear(from, to)
        : this.#clear(from, this.#capacity) + this.#clear(0, to - this.#capacity);
    this.#tracked -= dropped;
    return dropped;
  }

  /** Clears bits `[from, to)` of the ring (no wrap); returns how many were set. */
  #clear(from: number, to: number): number {
    const bits = this.#bits;
    let dropped = 0;
    let i = from;
    while (i < to) {
      const w = i >>> 5;
      const lo = i & 31;
      const hi = Math.min(32, lo + (to - i));
      // Bits lo..hi-1 of word w (hi - lo of them, 32 for a whole word).
      const mask = hi - lo === 32 ? 0xffffffff : ((1 << (hi - lo)) - 1) << lo;
      const word = bits[w] ?? 0;
      dropped += popcount(word & mask);
      bits[w] = word & ~mask;
      i += hi - lo;
    }
    return dropped;
  }
}

/** Set bits of a 32-bit word. */
function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
