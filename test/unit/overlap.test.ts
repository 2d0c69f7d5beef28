import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  findOverlaps,
  planSubjects,
  subjectCovers,
  subjectsOverlap,
} from "../../src/stream/index.js";

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

describe("subjectCovers", () => {
  // [pattern, subject, covers?]: true when every subject matching `subject` matches `pattern`
  const table: [string, string, boolean][] = [
    ["s.x", "s.x", true],
    ["s.x", "s.y", false],
    ["s.*", "s.x", true],
    ["s.*", "s.x.y", false],
    ["s.*", "s", false],
    ["s.>", "s.x", true],
    ["s.>", "s.x.y", true],
    ["s.>", "s", false],
    [">", "s", true],
    [">", "s.x.y", true],
    [">", "*", true],
    [">", ">", true],
    [">", "s.>", true],
    ["s.>", "s.*", true],
    ["s.>", "s.*.z", true],
    ["s.>", "s.a.>", true],
    ["s.>", "s.>", true],
    ["s.*", "s.*", true],
    ["s.*", "s.>", false],
    ["*", ">", false],
    ["s.x", "s.*", false],
    ["s.x.>", "s.>", false],
    ["s.*.z", "s.a.z", true],
    ["s.*.z", "s.*.z", true],
    ["s.*.z", "s.a.*", false],
    ["s.a.*", "s.*.z", false],
    ["*.*", "a.b", true],
    ["*.*", "a.>", false],
    ["*.>", "a.*.c", true],
    ["s.*", "t.x", false],
    ["orders", "ORDERS", false],
    // `*` and `>` inside a token are ordinary characters
    ["s.a*", "s.ab", false],
    ["s.*", "s.a*", true],
  ];
  for (const [pattern, subject, want] of table) {
    it(`says ${pattern} ${want ? "covers" : "does not cover"} ${subject}`, () => {
      assert.equal(subjectCovers(pattern, subject), want);
    });
  }

  it("only says a subject covers another when they overlap", () => {
    for (const [pattern, subject, want] of table) {
      if (want) assert.ok(subjectsOverlap(pattern, subject), `${pattern} / ${subject}`);
    }
  });

  it("says two subjects cover each other only when they are the same", () => {
    const all = new Set<string>();
    for (const [a, b] of table) all.add(a).add(b);
    for (const a of all) {
      for (const b of all) {
        assert.equal(subjectCovers(a, b) && subjectCovers(b, a), a === b, `${a} / ${b}`);
      }
    }
  });
});

describe("planSubjects", () => {
  it("leaves out a literal subject the stream's `>` covers", () => {
    assert.deepEqual(planSubjects(["s.>"], ["s.x"]), {
      covered: [{ subject: "s.x", by: "s.>" }],
      added: [],
      widened: [],
      conflicts: [],
      subjects: ["s.>"],
    });
  });

  it("leaves out one token under the stream's `*`, but adds two tokens down", () => {
    const plan = planSubjects(["s.*"], ["s.x", "s.x.y"]);
    assert.deepEqual(plan.covered, [{ subject: "s.x", by: "s.*" }]);
    assert.deepEqual(plan.added, ["s.x.y"]);
    assert.deepEqual(plan.subjects, ["s.*", "s.x.y"]);
  });

  it("leaves out everything under a stream capturing `>`", () => {
    const plan = planSubjects([">"], ["a", "a.b.c", "x.*", "y.>"]);
    assert.deepEqual(plan.added, []);
    assert.deepEqual(plan.subjects, [">"]);
  });

  it("leaves out a requested `*` the stream's `>` covers", () => {
    assert.deepEqual(planSubjects(["s.>"], ["s.*"]).subjects, ["s.>"]);
  });

  it("replaces the stream's `*` with a requested `>`, which it does not cover", () => {
    const plan = planSubjects(["s.*", "t.x", "s.a.b"], ["s.>"]);
    assert.deepEqual(plan.covered, []);
    assert.deepEqual(plan.widened, ["s.*", "s.a.b"]);
    assert.deepEqual(plan.conflicts, []);
    assert.deepEqual(plan.subjects, ["t.x", "s.>"]);
  });

  it("adds only the requested subjects not covered, keeping the stream's own", () => {
    const plan = planSubjects(["s.>", "keep"], ["s.x", "new", "s.*.z", "more.>", "keep"]);
    assert.deepEqual(
      plan.covered.map((c) => c.subject),
      ["s.x", "s.*.z", "keep"],
    );
    assert.deepEqual(plan.added, ["new", "more.>"]);
    assert.deepEqual(plan.subjects, ["s.>", "keep", "new", "more.>"]);
  });

  it("leaves out a requested subject another requested one covers", () => {
    const plan = planSubjects([], ["f.x", "f.>", "f.*", "f.>"]);
    assert.deepEqual(plan.covered, [
      { subject: "f.x", by: "f.>" },
      { subject: "f.*", by: "f.>" },
    ]);
    assert.deepEqual(plan.subjects, ["f.>"]);
  });

  it("names a requested wildcard that partly overlaps a subject of the stream", () => {
    const plan = planSubjects(["p.*.x"], ["p.a.*", "q"]);
    assert.deepEqual(plan.conflicts, [{ subject: "p.a.*", with: "p.*.x" }]);
  });

  it("names a pair of requested subjects that partly overlap once", () => {
    const plan = planSubjects([], ["p.*.x", "p.a.*"]);
    assert.deepEqual(plan.conflicts, [{ subject: "p.*.x", with: "p.a.*" }]);
  });

  it("names a wider subject that also partly overlaps one it does not cover", () => {
    // `s.*.x` covers `s.a.x` but only partly overlaps `s.b.*`
    const plan = planSubjects(["s.a.x", "s.b.*"], ["s.*.x"]);
    assert.deepEqual(plan.widened, ["s.a.x"]);
    assert.deepEqual(plan.conflicts, [{ subject: "s.*.x", with: "s.b.*" }]);
  });

  it("changes nothing when nothing is requested", () => {
    assert.deepEqual(planSubjects(["a", "b.>"], []).subjects, ["a", "b.>"]);
  });
});
