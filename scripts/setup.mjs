#!/usr/bin/env node
// One setup for `npm test`, `npm run demo`, `npm run example` and `npm run bench` on a fresh clone:
// installs npm dependencies when they are missing or older than the lock file, then makes sure a
// nats-server binary is available (see ensure-nats-server.mjs), and PostgreSQL's server binaries
// for the outbox/inbox tests (see ensure-postgres.mjs). Uses only node built-ins, so it
// runs before anything is installed.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const installed = "node_modules/.package-lock.json";
const stale =
  !existsSync(installed) || statSync(installed).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  console.error("installing npm dependencies (npm ci) ...");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
}
await import("./ensure-nats-server.mjs");
await import("./ensure-postgres.mjs");
