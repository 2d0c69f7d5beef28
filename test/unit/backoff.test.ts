import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrInvalidBackoff, ErrorCode } from "../../src/errors/index.js";
import { custom, exponential, fixed, linear } from "../../src/router/index.js";

test("fixed backoff waits the same delay after every failure", () => {
  const b = fixed("2s");
  assert.deepEqual([1, 2, 10].map(b), [2000, 2000, 2000]);
});

test("linear backoff grows by its step and stops at max", () => {
  const b = linear({ initial: 100, step: 50, max: 220 });
  assert.deepEqual([1, 2, 3, 4, 50].map(b), [100, 150, 200, 220, 220]);
});

test("exponential backoff doubles by default and stops at max", () => {
  const b = exponential({ initial: "1s", max: "10s" });
  assert.deepEqual([1, 2, 3, 4, 5, 1000].map(b), [1000, 2000, 4000, 8000, 10000, 10000]);
});

test("exponential backoff uses the given factor", () => {
  const b = exponential({ initial: 10, max: "1h", factor: 3 });
  assert.deepEqual([1, 2, 3].map(b), [10, 30, 90]);
});

test("jittered delays stay within [1-jitter, 1+jitter] of the base and vary", () => {
  const b = exponential({ initial: 1000, max: "1h", jitter: 0.25 });
  const samples = Array.from({ length: 500 }, () => b(2));
  for (const s of samples) assert.ok(s >= 1500 && s <= 2500, `${s} within 2000 +/- 25%`);
  assert.ok(new Set(samples).size > 10, "jitter spreads the delays");
});

test("jitter never pushes a delay past max", () => {
  const b = exponential({ initial: 1000, max: 1000, jitter: 1 });
  for (let i = 0; i < 200; i++) assert.ok(b(5) <= 1000);
});

test("custom backoff accepts durations as strings", () => {
  const b = custom((n) => (n < 3 ? "1s" : "1m"));
  assert.deepEqual([1, 2, 3].map(b), [1000, 1000, 60000]);
});

test("a custom backoff returning a bad value throws ErrInvalidBackoff when used", () => {
  const b = custom(() => -5);
  assert.throws(() => b(1), ErrInvalidBackoff);
});

const bad: [string, () => (n: number) => number][] = [
  ["a negative fixed delay", () => fixed(-1)],
  ["a linear max below initial", () => linear({ initial: "2s", step: 1, max: "1s" })],
  ["a linear step with an unknown unit", () => linear({ initial: 1, step: "1d" as never, max: 5 })],
  ["an exponential factor below 1", () => exponential({ initial: 1, max: 10, factor: 0.5 })],
  ["an exponential jitter above 1", () => exponential({ initial: 1, max: 10, jitter: 1.5 })],
  ["an exponential max below initial", () => exponential({ initial: 10, max: 1 })],
  ["a custom backoff that is not a function", () => custom("soon" as never)],
];
for (const [title, build] of bad) {
  test(`${title} is reported as ErrInvalidBackoff, not at build time`, () => {
    const b = build();
    assert.throws(() => b(1), { code: ErrorCode.InvalidBackoff });
  });
}

test("a delivery count below 1 is rejected with ErrInvalidBackoff", () => {
  assert.throws(() => fixed(10)(0), ErrInvalidBackoff);
});

test("exponential backoff from zero stays at zero however many deliveries failed", () => {
  assert.equal(exponential({ initial: 0, max: "1m" })(5000), 0);
});
