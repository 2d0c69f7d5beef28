import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { failedTests, failureDetails, parseSummary } from "../../scripts/lib/test-summary.mjs";

// The matrix reads node's own runner output: real runs of a fixture (one pass, one failure, one
// skip) under both reporters, TAP (Node 20 and 22 when piped) and spec (Node 24 when piped).
function runFixture(reporter: "tap" | "spec"): string {
  // Without this the child sees it runs under a test runner and reports to it, not to stdout.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    ["--test", `--test-reporter=${reporter}`, "test/unit/fixtures/summary-fixture.mjs"],
    { encoding: "utf8", env },
  );
  assert.equal(r.status, 1, "the fixture fails one test");
  return r.stdout + r.stderr;
}

describe("the test matrix's summary reader", () => {
  for (const reporter of ["tap", "spec"] as const) {
    describe(`with the ${reporter} reporter`, () => {
      const output = runFixture(reporter);

      it("reads the closing counts", () => {
        assert.deepEqual(parseSummary(output), {
          tests: 3,
          pass: 1,
          fail: 1,
          cancelled: 0,
          skipped: 1,
          todo: 0,
        });
      });

      it("names the failed test and shows its error", () => {
        assert.deepEqual(failedTests(output), ["fails on purpose"]);
        assert.match(failureDetails(output), /boom/);
      });
    });
  }

  it("says there is no summary when a run died before printing one", () => {
    assert.equal(parseSummary("ok 1 - started\nSegmentation fault\n"), undefined);
  });
});
