import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ErrNatsServerMissing, ErrorCode } from "../../src/errors/index.js";
import { findNatsServer } from "../../src/testing/binary.js";

// Real files in a temp folder stand in for nats-server: the lookup only checks that a path is an
// executable file, and the fetch script only runs `--version` on a cached one.
const root = mkdtempSync(join(tmpdir(), "jetroute-binary-"));
after(() => rmSync(root, { recursive: true, force: true }));

function fakeServer(path: string, version = "2.15.1"): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `#!/bin/sh\necho "nats-server: v${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}

const LOOKUP_VARS = ["NATS_SERVER_BIN", "NATS_SERVER_VERSION", "JETROUTE_CACHE_DIR", "PATH"];

/** Runs fn with exactly these lookup variables set (the others unset), then restores them. */
function withEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(LOOKUP_VARS.map((k) => [k, process.env[k]]));
  for (const k of LOOKUP_VARS) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function missing(fn: () => unknown): InstanceType<typeof ErrNatsServerMissing> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ErrNatsServerMissing);
    assert.equal(err.code, ErrorCode.NatsServerMissing);
    return err;
  }
  assert.fail("expected ErrNatsServerMissing");
}

describe("findNatsServer", () => {
  const cache = join(root, "cache");
  const v215 = fakeServer(join(cache, "nats-server", "2.15.1", "nats-server"));
  symlinkSync("2.15.1", join(cache, "nats-server", "sid"));
  const explicit = fakeServer(join(root, "explicit", "nats-server"), "2.9.10");
  const onPath = fakeServer(join(root, "path", "nats-server"), "2.9.10");

  it("uses NATS_SERVER_BIN when it names an executable file", () => {
    assert.equal(withEnv({ NATS_SERVER_BIN: explicit }, findNatsServer), explicit);
  });

  it("refuses a NATS_SERVER_BIN that is a folder or not executable", () => {
    const plain = join(root, "plain");
    writeFileSync(plain, "not a binary");
    missing(() => withEnv({ NATS_SERVER_BIN: plain }, findNatsServer));
    missing(() => withEnv({ NATS_SERVER_BIN: root }, findNatsServer));
  });

  it("finds NATS_SERVER_VERSION in the cache folder", () => {
    const env = { NATS_SERVER_VERSION: "2.15.1", JETROUTE_CACHE_DIR: cache };
    assert.equal(withEnv(env, findNatsServer), v215);
  });

  it("follows the suite alias the fetch script links to a version", () => {
    const env = { NATS_SERVER_VERSION: "sid", JETROUTE_CACHE_DIR: cache };
    assert.equal(withEnv(env, findNatsServer), join(cache, "nats-server", "sid", "nats-server"));
  });

  it("reads .cache in the working directory without JETROUTE_CACHE_DIR", () => {
    const project = join(root, "project");
    const inCwd = fakeServer(join(project, ".cache", "nats-server", "2.15.1", "nats-server"));
    const cwd = process.cwd();
    process.chdir(project);
    try {
      assert.equal(withEnv({ NATS_SERVER_VERSION: "2.15.1" }, findNatsServer), inCwd);
    } finally {
      process.chdir(cwd);
    }
  });

  it("prefers NATS_SERVER_BIN over NATS_SERVER_VERSION", () => {
    const env = {
      NATS_SERVER_BIN: explicit,
      NATS_SERVER_VERSION: "2.15.1",
      JETROUTE_CACHE_DIR: cache,
    };
    assert.equal(withEnv(env, findNatsServer), explicit);
  });

  it("names the command that fetches a version missing from the cache", () => {
    const env = { NATS_SERVER_VERSION: "2.10.27", JETROUTE_CACHE_DIR: cache };
    const err = missing(() => withEnv(env, findNatsServer));
    // The command and what is cached are the point of this error, so the text is the contract.
    assert.match(err.message, /node scripts\/nats-server\.mjs 2\.10\.27/);
    assert.match(err.message, /cached: 2\.15\.1, sid/);
  });

  it("refuses a NATS_SERVER_VERSION that is a path instead of a name", () => {
    for (const name of ["../../bin", "/usr/sbin", "2.10/..", ".hidden"]) {
      missing(() =>
        withEnv({ NATS_SERVER_VERSION: name, JETROUTE_CACHE_DIR: cache }, findNatsServer),
      );
    }
  });

  it("falls back to PATH when neither variable is set", () => {
    assert.equal(withEnv({ PATH: join(root, "path") }, findNatsServer), onPath);
  });
});

describe("scripts/nats-server.mjs", () => {
  const cache = join(root, "script-cache");
  fakeServer(join(cache, "nats-server", "2.10.27", "nats-server"), "2.10.27");
  symlinkSync("2.10.27", join(cache, "nats-server", "trixie"));
  // An unreachable mirror: any attempt to use the network fails the run.
  const { NATS_SERVER_BIN: _, ...inherited } = process.env;
  const env = {
    ...inherited,
    JETROUTE_CACHE_DIR: cache,
    JETROUTE_DEBIAN_MIRROR: "http://127.0.0.1:9/debian",
    JETROUTE_QUIET: "1",
  };
  const script = (...args: string[]) =>
    spawnSync(process.execPath, ["scripts/nats-server.mjs", ...args], { env, encoding: "utf8" });

  it("answers from the cache without the network, by version and by suite", () => {
    const r = script("2.10.27", "trixie");
    assert.equal(r.status, 0, r.stderr);
    const bin = join(cache, "nats-server", "2.10.27", "nats-server");
    assert.deepEqual(r.stdout.trim().split("\n"), [bin, bin]);
  });

  it("refuses a name that is not one of Debian's servers", () => {
    const r = script("2.7.0");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown nats-server "2\.7\.0"/);
  });

  it("lets ensure-nats-server use the cached NATS_SERVER_VERSION", () => {
    const r = spawnSync(process.execPath, ["scripts/ensure-nats-server.mjs"], {
      env: { ...env, NATS_SERVER_VERSION: "trixie", JETROUTE_QUIET: "0" },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /nats-server\/trixie\/nats-server \(nats-server: v2\.10\.27\)/);
  });
});
