#!/usr/bin/env node
// Runs the suite with node's built-in runner (its summary is what CI reads).
// `node scripts/run-tests.mjs [unit|integration|chaos|types ...]`; no argument runs every group.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, sep } from "node:path";

const groups = process.argv.slice(2);
const selected = groups.length > 0 ? groups : ["unit", "integration", "chaos"];

function collect(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? collect(join(dir, e.name)) : [join(dir, e.name)]))
    .filter((f) => f.endsWith(".test.ts"))
    .sort();
}

// JETROUTE_TEST_EXCLUDE: comma-separated path prefixes left out (the matrix's lighter legs).
const excluded = (process.env.JETROUTE_TEST_EXCLUDE ?? "")
  .split(",")
  .map((p) => p.trim())
  .filter(Boolean);
const files = selected
  .flatMap((g) => collect(join("test", g)))
  .filter((f) => !excluded.some((p) => f.split(sep).join("/").startsWith(p)));
if (excluded.length > 0) console.error(`leaving out ${excluded.join(", ")}`);
if (files.length === 0) {
  console.error(`no test files under test/{${selected.join(",")}}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
const args = [
  "--import",
  "tsx",
  "--test",
  `--test-concurrency=${concurrency}`,
  "--test-timeout=120000",
  ...files,
];
const result = spawnSync(process.execPath, args, {
  stdio: "inherit",
  env: { ...process.env, JETROUTE_QUIET: "1" },
});
process.exit(result.status ?? 1);
