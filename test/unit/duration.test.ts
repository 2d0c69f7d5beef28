import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, MAX_TIMER_MS, toMillis, toTimerMillis } from "../../src/index.js";

describe("durations", () => {
  it("accepts milliseconds and unit strings", () => {
    assert.equal(toMillis(250, "opt"), 250);
    assert.equal(toMillis("250ms", "opt"), 250);
    assert.equal(toMillis("1.5s", "opt"), 1500);
    assert.equal(toMillis("2m", "opt"), 120_000);
    assert.equal(toMillis("1h", "opt"), 3_600_000);
  });

  for (const bad of [
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    "",
    "10",
    "5d",
    "-1s",
    "1 s",
    null,
    {},
  ]) {
    it(`rejects ${JSON.stringify(bad) ?? String(bad)} with ErrInvalidDuration naming the option`, () => {
      assert.throws(
        () => toMillis(bad, "withAckWait", "charge"),
        (err: unknown) =>
          err instanceof Error &&
          (err as { code?: string }).code === ErrorCode.InvalidDuration &&
          err.message.includes("withAckWait"),
      );
    });
  }

  it("rejects timer durations Node would silently shorten to 1 ms", () => {
    assert.equal(toTimerMillis(MAX_TIMER_MS, "opt"), MAX_TIMER_MS);
    assert.throws(() => toTimerMillis(MAX_TIMER_MS + 1, "opt"), {
      code: ErrorCode.InvalidDuration,
    });
    assert.throws(() => toTimerMillis("720h", "opt"), { code: ErrorCode.InvalidDuration });
  });
});
