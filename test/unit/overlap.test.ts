import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findOverlaps, subjectsOverlap } from "../../src/stream/index.js";

describe("subjectsOverlap", () => {
  // [a, b, overlap?]: true when some literal subject matches both patterns
  const table: [string, string, boolean][] = [
    ["orders.created", "orders.created", true],
    ["orders.created", "orders.deleted", false],
    ["orders.*", "orders.created", true],
    ["orders.*", "orders.eu.created", false],
    ["orders.>", "orders.eu.created", true],
    ["orders.>", "orders", false],
    ["orders.*", "orders.>", true],
    ["*.created", "orders.*", true],
    ["*.created", "orders.deleted", false],
    ["*.*", "a.b.c", false],
    ["*.*.c", "a.>", true],
    [">", "anything.at.all", true],
    [">", "x", true],
    ["a.b", "a.b.c", false],
    ["a.*.c", "a.b.*", true],
    ["a.*.c", "a.b.d", false],
    ["orders", "ORDERS", false],
  ];
  for (const [a, b, want] of table) {
    it(`says ${a} and ${b} ${want ? "overlap" : "do not overlap"}, either way round`, () => {
      assert.equal(subjectsOverlap(a, b), want);
      assert.equal(subjectsOverlap(b, a), want);
    });
  }
});

describe("findOverlaps", () => {
  const streams = [
    { name: "ORDERS", subjects: ["orders.>"] },
    { name: "AUDIT", subjects: ["*.created"] },
    { name: "MIRROR", subjects: [] },
  ];

  it("names every other stream that captures a requested subject", () => {
    assert.deepEqual(findOverlaps("NEW", ["orders.created", "users.deleted"], streams), [
      { stream: "ORDERS", subjects: ["orders.created"] },
      { stream: "AUDIT", subjects: ["orders.created"] },
    ]);
  });

  it("ignores the stream being ensured", () => {
    assert.deepEqual(findOverlaps("ORDERS", ["orders.paid"], streams), []);
  });

  it("finds nothing when no other stream captures the subjects", () => {
    assert.deepEqual(findOverlaps("NEW", ["users.deleted", "billing.paid.>"], streams), []);
  });
});
