import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrInvalidSubject, ErrorCode } from "../../src/errors/index.js";
import {
  subjectMatches,
  subjectsOverlap,
  validateFilterSubject,
  validatePublishSubject,
} from "../../src/subject/index.js";

const VALID_PUBLISH = [
  "a",
  "orders.created",
  "a.b.c.d",
  "a*b.c>",
  "_INBOX.x",
  "$JS.API.INFO",
  "ü.ß",
];
const INVALID_EVERYWHERE: Array<[string, unknown]> = [
  ["empty", ""],
  ["not a string", 42],
  ["undefined", undefined],
  ["leading dot", ".a"],
  ["trailing dot", "a."],
  ["empty token", "a..b"],
  ["a lone dot", "."],
  ["space", "a b"],
  ["tab", "a\tb"],
  ["newline", "a.b\n"],
  ["control character", "a\u0001b"],
  ["DEL", "a\u007fb"],
];

describe("validatePublishSubject", () => {
  for (const subject of VALID_PUBLISH) {
    it(`accepts ${JSON.stringify(subject)}`, () => {
      validatePublishSubject(subject);
    });
  }
  for (const [what, subject] of [
    ...INVALID_EVERYWHERE,
    ["a * token", "a.*.b"],
    ["a > token", "a.>"],
    ["only *", "*"],
    ["only >", ">"],
  ] as Array<[string, unknown]>) {
    it(`rejects a subject with ${what} as ErrInvalidSubject`, () => {
      assert.throws(
        () => validatePublishSubject(subject, "withSubject"),
        (err: unknown) =>
          err instanceof ErrInvalidSubject &&
          err.code === ErrorCode.InvalidSubject &&
          err.subject === subject,
      );
    });
  }

  it("rejects a bad subject even right after a good one was accepted", () => {
    validatePublishSubject("a.b");
    assert.throws(() => validatePublishSubject("a.*"), ErrInvalidSubject);
    validatePublishSubject("a.b");
  });
});

describe("validateFilterSubject", () => {
  for (const subject of [...VALID_PUBLISH, "*", ">", "a.*", "a.>", "*.b.>", "a.*.*"]) {
    it(`accepts ${JSON.stringify(subject)}`, () => {
      validateFilterSubject(subject, "withSubject");
    });
  }
  for (const [what, subject] of [
    ...INVALID_EVERYWHERE,
    ["> before the last token", "a.>.b"],
    ["> first of two", ">.a"],
  ] as Array<[string, unknown]>) {
    it(`rejects a filter with ${what} as ErrInvalidSubject`, () => {
      assert.throws(() => validateFilterSubject(subject, "withSubject"), ErrInvalidSubject);
    });
  }
});

describe("subjectMatches", () => {
  const table: Array<[string, string, boolean]> = [
    ["a.b", "a.b", true],
    ["a.b", "a.c", false],
    ["a.*", "a.b", true],
    ["a.*", "a.b.c", false],
    ["a.*", "a", false],
    ["a.>", "a.b", true],
    ["a.>", "a.b.c", true],
    ["a.>", "a", false],
    [">", "a", true],
    ["*.b.*", "x.b.y", true],
    ["*.b.*", "x.c.y", false],
    ["a.b.c", "a.b", false],
  ];
  for (const [pattern, subject, expected] of table) {
    it(`says ${JSON.stringify(pattern)} ${expected ? "matches" : "does not match"} ${JSON.stringify(subject)}`, () => {
      assert.equal(subjectMatches(pattern, subject), expected);
    });
  }
});

describe("subjectsOverlap", () => {
  const table: Array<[string, string, boolean]> = [
    ["a.b", "a.b", true],
    ["a.b", "a.c", false],
    ["a.*", "a.b", true],
    ["a.*", "*.b", true],
    ["a.*", "a.>", true],
    ["a.*", "a.b.c", false],
    ["a.>", "a.b.c", true],
    ["a.>", "a", false],
    [">", "x.y.z", true],
    ["*.x", "a.y", false],
    ["a.*.c", "a.b.>", true],
    ["a.*.c", "a.b.d", false],
    ["orders.*", "orders.eu.created", false],
  ];
  for (const [a, b, expected] of table) {
    it(`says ${JSON.stringify(a)} and ${JSON.stringify(b)} ${expected ? "overlap" : "do not overlap"}`, () => {
      assert.equal(subjectsOverlap(a, b), expected);
      assert.equal(subjectsOverlap(b, a), expected, "overlap is symmetric");
    });
  }
});
