import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_REPLAY_GUARD_CAPACITY,
  ReplayGuard,
  type ReplayGuardStats,
} from "../../src/consumer/index.js";
import { ErrInvalidOption, ErrorCode } from "../../src/errors/index.js";

type Step = ["add", number] | ["floor", number] | ["reset"];

interface Case {
  readonly name: string;
  readonly capacity: number;
  readonly steps: readonly Step[];
  /** Exactly the sequences in 1..`upTo` that `has` answers true for. */
  readonly settled: readonly number[];
  readonly upTo: number;
  readonly stats: Omit<ReplayGuardStats, "capacity" | "bytes">;
}

function apply(guard: ReplayGuard, steps: readonly Step[]): void {
  for (const step of steps) {
    if (step[0] === "add") guard.add(step[1]);
    else if (step[0] === "floor") guard.raiseFloor(step[1]);
    else guard.reset();
  }
}

function members(guard: ReplayGuard, upTo: number): number[] {
  const out: number[] = [];
  for (let seq = 1; seq <= upTo; seq++) if (guard.has(seq)) out.push(seq);
  return out;
}

const cases: readonly Case[] = [
  {
    name: "a new guard holds nothing and its floor is 0",
    capacity: 64,
    steps: [],
    settled: [],
    upTo: 10,
    stats: { floor: 0, tracked: 0, evicted: 0 },
  },
  {
    name: "holds exactly the sequences added, in any order",
    capacity: 64,
    steps: [
      ["add", 5],
      ["add", 1],
      ["add", 3],
      ["add", 9],
      ["add", 2],
      ["add", 10],
      ["add", 7],
    ],
    settled: [1, 2, 3, 5, 7, 9, 10],
    upTo: 12,
    stats: { floor: 0, tracked: 7, evicted: 0 },
  },
  {
    name: "a sequence added twice is tracked once",
    capacity: 64,
    steps: [
      ["add", 4],
      ["add", 4],
    ],
    settled: [4],
    upTo: 6,
    stats: { floor: 0, tracked: 1, evicted: 0 },
  },
  {
    name: "everything at or below the floor counts as settled; records it covers are dropped",
    capacity: 64,
    steps: [
      ["add", 3],
      ["add", 8],
      ["add", 12],
      ["floor", 7],
    ],
    settled: [1, 2, 3, 4, 5, 6, 7, 8, 12],
    upTo: 14,
    stats: { floor: 7, tracked: 2, evicted: 0 },
  },
  {
    name: "a floor never moves down",
    capacity: 64,
    steps: [
      ["floor", 5],
      ["floor", 2],
    ],
    settled: [1, 2, 3, 4, 5],
    upTo: 6,
    stats: { floor: 5, tracked: 0, evicted: 0 },
  },
  {
    name: "adding at or below the floor records nothing",
    capacity: 64,
    steps: [
      ["floor", 5],
      ["add", 5],
      ["add", 1],
    ],
    settled: [1, 2, 3, 4, 5],
    upTo: 6,
    stats: { floor: 5, tracked: 0, evicted: 0 },
  },
  {
    name: "a floor far above the window drops every record",
    capacity: 64,
    steps: [
      ["add", 10],
      ["add", 60],
      ["floor", 500],
    ],
    settled: Array.from({ length: 500 }, (_, i) => i + 1),
    upTo: 502,
    stats: { floor: 500, tracked: 0, evicted: 0 },
  },
  {
    name: "a sequence past the window slides it up, forgetting the oldest records",
    capacity: 64,
    // Window 1..64 holds 2, 3, 40; adding 70 moves it to 7..70: 2 and 3 are forgotten.
    steps: [
      ["add", 2],
      ["add", 3],
      ["add", 40],
      ["add", 70],
    ],
    settled: [40, 70],
    upTo: 80,
    stats: { floor: 0, tracked: 2, evicted: 2 },
  },
  {
    name: "a jump of more than the window forgets every record",
    capacity: 64,
    steps: [
      ["add", 2],
      ["add", 64],
      ["add", 1_000],
    ],
    settled: [1_000],
    upTo: 1_010,
    stats: { floor: 0, tracked: 1, evicted: 2 },
  },
  {
    name: "a sequence settled below a window that slid past it is counted, not recorded",
    capacity: 64,
    // The parked message (1) settles after the window moved to 37..100.
    steps: [
      ["add", 100],
      ["add", 1],
    ],
    settled: [100],
    upTo: 110,
    stats: { floor: 0, tracked: 1, evicted: 1 },
  },
  {
    name: "the ring reuses its bits after the window wraps around",
    capacity: 64,
    steps: [
      ["add", 60],
      ["add", 63],
      ["add", 65],
      ["add", 130],
      ["add", 127],
    ],
    // Window 67..130: 60, 63, 65 were forgotten; 127 and 130 share no bit with them.
    settled: [127, 130],
    upTo: 140,
    stats: { floor: 0, tracked: 2, evicted: 3 },
  },
  {
    name: "a floor inside the window keeps the records above it, across a wrap",
    capacity: 64,
    steps: [
      ["add", 100],
      ["add", 120],
      ["add", 130],
      ["floor", 110],
    ],
    settled: [...Array.from({ length: 110 }, (_, i) => i + 1), 120, 130],
    upTo: 140,
    stats: { floor: 110, tracked: 2, evicted: 0 },
  },
  {
    name: "reset forgets the records and the floor but keeps the eviction count",
    capacity: 64,
    steps: [["add", 1], ["add", 100], ["floor", 50], ["add", 60], ["reset"], ["add", 3]],
    settled: [3],
    upTo: 110,
    stats: { floor: 0, tracked: 1, evicted: 1 },
  },
];

describe("ReplayGuard", () => {
  for (const c of cases) {
    it(c.name, () => {
      const guard = new ReplayGuard(c.capacity);
      apply(guard, c.steps);
      assert.deepEqual(members(guard, c.upTo), c.settled);
      assert.deepEqual(guard.stats(), { ...c.stats, capacity: c.capacity, bytes: c.capacity / 8 });
      assert.equal(guard.floor, c.stats.floor);
    });
  }

  it("defaults to a window of 2^20 sequences in 128 KiB", () => {
    const { capacity, bytes } = new ReplayGuard().stats();
    assert.equal(capacity, DEFAULT_REPLAY_GUARD_CAPACITY);
    assert.equal(capacity, 2 ** 20);
    assert.equal(bytes, 128 * 1024);
  });

  it("rounds a capacity up to a whole number of 32-bit words", () => {
    assert.deepEqual(
      { capacity: new ReplayGuard(33).stats().capacity, bytes: new ReplayGuard(33).stats().bytes },
      { capacity: 64, bytes: 8 },
    );
  });

  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 30 + 1]) {
    it(`refuses a capacity of ${bad} with ErrInvalidOption`, () => {
      assert.throws(
        () => new ReplayGuard(bad),
        (err: unknown) => err instanceof ErrInvalidOption && err.code === ErrorCode.InvalidOption,
      );
    });
  }

  it("agrees with a Set over random settlements within the window", () => {
    const guard = new ReplayGuard(1_024);
    const reference = new Set<number>();
    let x = 12345;
    for (let i = 0; i < 5_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const seq = 1 + (x % 1_000);
      guard.add(seq);
      reference.add(seq);
    }
    assert.deepEqual(
      members(guard, 1_100),
      [...reference].sort((a, b) => a - b),
    );
    assert.equal(guard.stats().tracked, reference.size);
  });

  it("keeps a fixed size while 100k interleaved settlements wait behind one parked sequence", () => {
    const guard = new ReplayGuard();
    const before = guard.stats().bytes;
    // The route sees every other sequence; sequence 1 is parked, so the floor stays at 0.
    for (let seq = 3; seq <= 200_001; seq += 2) guard.add(seq);
    const after = guard.stats();
    assert.equal(after.bytes, before);
    assert.equal(after.tracked, 100_000);
    assert.equal(after.evicted, 0);
    assert.ok(guard.has(3) && guard.has(200_001) && !guard.has(1) && !guard.has(4));
  });

  it("recognises every settlement of a route seeing one subject in 8 until 2^20 sequences pass", () => {
    const guard = new ReplayGuard();
    const last = DEFAULT_REPLAY_GUARD_CAPACITY;
    for (let seq = 8; seq <= last; seq += 8) guard.add(seq);
    assert.equal(guard.stats().tracked, last / 8);
    assert.equal(guard.stats().evicted, 0);
    guard.add(last + 8);
    assert.equal(guard.stats().evicted, 1);
    assert.equal(guard.has(8), false);
    assert.equal(guard.has(16), true);
  });
});
