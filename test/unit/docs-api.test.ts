// `npm run docs` builds the API reference with TypeDoc, warnings fatal (typedoc.json): a broken
// docstring link, a public type that is not exported, or a guide linking to nothing fails here.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

const root = join(import.meta.dirname, "..", "..");

describe("the API reference (npm run docs)", () => {
  it("builds from src/index.ts and jetroute/testing with no TypeDoc warning", () => {
    const out = mkdtempSync(join(tmpdir(), "jetroute-api-"));
    try {
      const bin = join(root, "node_modules", "typedoc", "bin", "typedoc");
      const run = spawnSync(process.execPath, [bin, "--out", out], { cwd: root, encoding: "utf8" });
      assert.equal(run.status, 0, `typedoc failed:\n${run.stdout}\n${run.stderr}`);
      assert.ok(existsSync(join(out, "index.html")), "no index.html written");
      assert.ok(existsSync(join(out, "classes", "index.Broker.html")), "Broker has no page");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
