// Where fetched nats-servers and Node binaries live: `JETROUTE_CACHE_DIR`, else `.cache/` at the
// repo root (gitignored). src/testing/binary.ts reads the same folder (there relative to the
// working directory, which is the repo root for every npm script).
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The cache root, absolute. */
export function cacheDir() {
  return resolve(process.env.JETROUTE_CACHE_DIR || join(repoRoot, ".cache"));
}

export function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a command and returns its stdout; on failure throws an Error naming the command and its
 * stderr. Warnings it prints on success (apt's `W:` lines) are passed on to stderr.
 */
export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
  });
  const stderr = (r.stderr ?? "").trim();
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (stderr || `exit ${r.status ?? r.signal}`);
    throw new Error(`\`${[cmd, ...args].join(" ")}\` failed: ${why}`, { cause: r.error });
  }
  if (stderr) log(stderr);
  return r.stdout;
}

/** Prints to stderr unless JETROUTE_QUIET=1 (stdout is kept for the one answer a script gives). */
export function log(line) {
  if (process.env.JETROUTE_QUIET !== "1") console.error(line);
}
