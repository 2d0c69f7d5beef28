#!/usr/bin/env node
// Makes sure a nats-server binary is available for tests, the demo and benchmarks.
// Order: NATS_SERVER_BIN, then NATS_SERVER_VERSION (fetched into the cache by nats-server.mjs),
// then PATH, Debian's /usr/sbin; else `apt-get install nats-server` when root; else exit 1 saying
// exactly how to install it. The order is src/testing/binary.ts's. Only Debian's archive is used.
import { execFileSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { aptInstall, executable } from "./lib/apt.mjs";

const dirs = [
  ...(process.env.PATH ?? "").split(delimiter).filter(Boolean),
  "/usr/sbin",
  "/usr/local/sbin",
];

function find() {
  if (process.env.NATS_SERVER_BIN && executable(process.env.NATS_SERVER_BIN))
    return process.env.NATS_SERVER_BIN;
  for (const dir of dirs) if (executable(join(dir, "nats-server"))) return join(dir, "nats-server");
  return undefined;
}

function version(bin) {
  return execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
}

let bin = find();
if (!process.env.NATS_SERVER_BIN && process.env.NATS_SERVER_VERSION) {
  const { cachedNatsServer, ensureNatsServer } = await import("./nats-server.mjs");
  try {
    const r = ensureNatsServer(process.env.NATS_SERVER_VERSION);
    if (r.warning) console.error(`WARNING: ${r.warning}`);
    // binary.ts looks the name up in the cache, so it must be there under that name.
    bin = cachedNatsServer(process.env.NATS_SERVER_VERSION);
    if (!bin) {
      console.error(
        `NATS_SERVER_VERSION=${process.env.NATS_SERVER_VERSION} is not cached; set it to ${r.version}`,
      );
      process.exit(1);
    }
  } catch (err) {
    console.error(`NATS_SERVER_VERSION=${process.env.NATS_SERVER_VERSION}: ${err.message}`);
    process.exit(1);
  }
}
bin ??= aptInstall("nats-server", {
  what: "nats-server",
  otherwise: "point NATS_SERVER_BIN at a nats-server binary",
  find,
  stillMissing: "nats-server is still not on PATH or in /usr/sbin",
});
if (process.env.JETROUTE_QUIET !== "1") console.error(`using ${bin} (${version(bin)})`);
