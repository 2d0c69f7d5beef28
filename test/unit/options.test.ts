import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isJetrouteError } from "../../src/errors/index.js";
import { checkKeys } from "../../src/options/index.js";

const ALLOWED = ["filter", "signal", "throughSeq"];

describe("checkKeys", () => {
  it("accepts known keys, an empty object and no options at all", () => {
    checkKeys({ filter: {}, throughSeq: 3 }, ALLOWED, "purgeDeadLetters");
    checkKeys({}, ALLOWED, "purgeDeadLetters");
    checkKeys(undefined, ALLOWED, "purgeDeadLetters");
  });

  it("refuses an unknown key, naming it, the nearest known one and every known one", () => {
    assert.throws(
      () => checkKeys({ Filter: {} }, ALLOWED, "purgeDeadLetters"),
      (err) =>
        isJetrouteError(err, ErrorCode.InvalidOption) &&
        err.message.includes('purgeDeadLetters has no option "Filter" (did you mean "filter"?)') &&
        err.message.includes("filter, signal, throughSeq"),
    );
    assert.throws(
      () => checkKeys({ throughSeqs: 1 }, ALLOWED, "purgeDeadLetters"),
      (err) =>
        isJetrouteError(err, ErrorCode.InvalidOption) && err.message.includes('"throughSeq"'),
    );
    assert.throws(
      () => checkKeys({ everything: true }, ALLOWED, "purgeDeadLetters"),
      (err) =>
        isJetrouteError(err, ErrorCode.InvalidOption) && !err.message.includes("did you mean"),
    );
  });

  it("refuses options that are not an object", () => {
    for (const options of [null, "filter", 3, []]) {
      assert.throws(
        () => checkKeys(options, ALLOWED, "purgeDeadLetters"),
        (err) => isJetrouteError(err, ErrorCode.InvalidOption),
      );
    }
  });
});
