/**
 * A set of stream sequences kept as sorted, disjoint, inclusive ranges. The engine records every
 * sequence it has settled for good (acked or terminated) above the consumer's last known ack
 * floor; settled sequences are nearly contiguous, so thousands of them take a handful of ranges
 * rather than one Set entry each, even while one long-delayed retry pins the floor.
 * @example
 * const s = new SeqRanges();
 * s.add(3); s.add(4); s.add(9);
 * s.has(4); // true
 * s.dropThrough(4); // forgets 3 and 4
 */
export class SeqRanges {
  /** `[first, last]` pairs, ascending, never touching (adjacent ranges are merged). */
  readonly #ranges: [number, number][] = [];

  /** Number of ranges held (a memory measure, not the number of sequences). */
  get rangeCount(): number {
    return this.#ranges.length;
  }

  has(seq: number): boolean {
    const i = this.#indexAtOrBefore(seq);
    const r = i >= 0 ? this.#ranges[i] : undefined;
    return r !== undefined && seq <= r[1];
  }

  add(seq: number): void {
    const ranges = this.#ranges;
    const i = this.#indexAtOrBefore(seq);
    const before = i >= 0 ? ranges[i] : undefined;
    const after = ranges[i + 1];
    if (before !== undefined && seq <= before[1]) return;
    const joinsBefore = before !== undefined && before[1] === seq - 1;
    const joinsAfter = after !== undefined && after[0] === seq + 1;
    if (joinsBefore && joinsAfter) {
      before[1] = after[1];
      ranges.splice(i + 1, 1);
    } else if (joinsBefore) {
      before[1] = seq;
    } else if (joinsAfter) {
      after[0] = seq;
    } else {
      ranges.splice(i + 1, 0, [seq, seq]);
    }
  }

  /** Forgets every sequence `<= floor`: the server's ack floor already covers them. */
  dropThrough(floor: number): void {
    const ranges = this.#ranges;
    let drop = 0;
    while (drop < ranges.length && (ranges[drop]?.[1] ?? 0) <= floor) drop++;
    ranges.splice(0, drop);
    const first = ranges[0];
    if (first !== undefined && first[0] <= floor) first[0] = floor + 1;
  }

  /** Index of the last range starting at or before `seq`, or -1. */
  #indexAtOrBefore(seq: number): number {
    const ranges = this.#ranges;
    // Settlements arrive almost in order: check the last range before searching.
    const last = ranges.length - 1;
    if (last < 0) return -1;
    if ((ranges[last]?.[0] ?? 0) <= seq) return last;
    let lo = 0;
    let hi = last - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((ranges[mid]?.[0] ?? 0) <= seq) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}
