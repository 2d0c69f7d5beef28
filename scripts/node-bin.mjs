#!/usr/bin/env node
// Fetches the Node builds the node matrix runs on, from the npm registry (the official binaries are
// published there as `node-<platform>-<arch>`, whose `bin/node` is the whole runtime):
// `node scripts/node-bin.mjs [20|22|24 ...]` prints each binary's path. The running Node's own
// major is used as is (no download); a cached build means no network.
//
// Versions are pinned to exact releases so CI runs what was last tested, a new Node release
// changes nothing until someone bumps it here, and the cache folder is keyed by what it holds.
import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { cacheDir, isExecutable, log, repoRoot, run } from "./lib/cache.mjs";

/** Supported majors and the release of each that the matrix runs (latest of each, 2026-11). */
export const NODES = { 20: "20.20.2", 22: "22.23.5", 24: "24.22.3" };

/** Makes sure a Node major is available; returns `{ name, version, bin, fetched }`. */
export function ensureNode(name) {
  const major = String(name).replace(/^v/, "").split(".")[0] ?? "";
  const pinned = NODES[major];
  if (!pinned) {
    throw new Error(`unknown Node "${name}": use one of ${Object.keys(NODES).join(", ")}`);
  }
  if (process.versions.node.split(".")[0] === major) {
    return { name, version: process.versions.node, bin: process.execPath, fetched: false };
  }
  const dir = join(cacheDir(), "node", pinned);
  const bin = join(dir, "bin", "node");
  if (isExecutable(bin)) return { name, version: pinned, bin, fetched: false };

  const pkg = `node-${process.platform}-${process.arch}@${pinned}`;
  log(`fetching Node ${pinned} (npm package ${pkg}) ...`);
  // Unpacked beside its final place, so the last step is a rename on one filesystem.
  mkdirSync(join(cacheDir(), "node"), { recursive: true });
  const tmp = mkdtempSync(join(cacheDir(), "node", ".fetch-"));
  try {
    const out = run("npm", ["pack", pkg, "--pack-destination", tmp, "--silent"], { cwd: repoRoot });
    const tgz = out.trim().split("\n").pop() ?? "";
    run("tar", ["-xzf", join(tmp, tgz), "-C", tmp]);
    const got = run(join(tmp, "package", "bin", "node"), ["--version"]).trim();
    if (got !== `v${pinned}`) throw new Error(`${pkg} holds Node ${got}, not v${pinned}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, "package"), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`cached Node ${pinned} in ${dir}`);
  return { name, version: pinned, bin, fetched: true };
}

function main(argv) {
  const names = argv.length > 0 ? argv : Object.keys(NODES);
  let failed = false;
  for (const name of names) {
    try {
      const r = ensureNode(name);
      log(`node ${name}: ${r.version} at ${r.bin}${r.fetched ? "" : " (cached or running)"}`);
      console.log(r.bin);
    } catch (err) {
      console.error(`node ${name}: ${err.message}`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = main(process.argv.slice(2));
}
