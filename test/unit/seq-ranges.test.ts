import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeqRanges } from "../../src/consumer/seq-ranges.js";

function members(s: SeqRanges, upTo: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= upTo; i++) if (s.has(i)) out.push(i);
  return out;
}

describe("SeqRanges", () => {
  it("holds exactly the sequences added, in any order", () => {
    const s = new SeqRanges();
    for (const seq of [5, 1, 3, 9, 2, 10, 7]) s.add(seq);
    assert.deepEqual(members(s, 12), [1, 2, 3, 5, 7, 9, 10]);
  });

  it("merges neighbours so contiguous sequences take one range", () => {
    const s = new SeqRanges();
    for (let i = 1; i <= 1_000; i++) s.add(i);
    assert.equal(s.rangeCount, 1);
    s.add(1_002);
    assert.equal(s.rangeCount, 2);
    s.add(1_001);
    assert.equal(s.rangeCount, 1);
  });

  it("ignores a sequence added twice", () => {
    const s = new SeqRanges();
    s.add(4);
    s.add(4);
    assert.equal(s.rangeCount, 1);
    assert.deepEqual(members(s, 6), [4]);
  });

  it("forgets everything at or below a floor, cutting a range that spans it", () => {
    const s = new SeqRanges();
    for (const seq of [1, 2, 3, 6, 7, 8, 12]) s.add(seq);
    s.dropThrough(7);
    assert.deepEqual(members(s, 14), [8, 12]);
    s.dropThrough(100);
    assert.equal(s.rangeCount, 0);
  });

  it("agrees with a Set over random insertions", () => {
    const s = new SeqRanges();
    const reference = new Set<number>();
    let x = 12345;
    for (let i = 0; i < 2_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const seq = x % 500;
      s.add(seq);
      reference.add(seq);
    }
    assert.deepEqual(
      members(s, 500),
      [...reference].sort((a, b) => a - b),
    );
  });
});
