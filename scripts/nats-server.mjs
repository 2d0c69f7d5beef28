#!/usr/bin/env node
// Fetches Debian's nats-server builds into the cache, so the suite can run on every server Debian
// ships: `node scripts/nats-server.mjs [--refresh] [NAME ...]` (no NAME: all three). NAME is a
// version (2.9.10), its major.minor (2.10) or the Debian suite (sid). Prints each binary's path.
//
// Only Debian's archive is used, through apt: `apt-get download` with the suite configured for
// that one call (temp sources list, lists, cache and an empty dpkg status, so the machine's own
// apt setup is read for proxies but never changed), then `dpkg-deb -x`. A cached binary means no
// network at all; --refresh asks Debian again (to learn that a suite moved on).
//
// Layout: <cache>/nats-server/<version>/nats-server, plus symlinks <suite> and <major.minor>
// pointing at the version the suite shipped, so NATS_SERVER_VERSION=sid works in the tests too.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { cacheDir, isExecutable, log, run } from "./lib/cache.mjs";

/** The servers Debian ships, by suite; `expected` is what the suite had when this was written. */
export const SUITES = [
  { suite: "bookworm", expected: "2.9.10" },
  { suite: "trixie", expected: "2.10.27" },
  { suite: "sid", expected: "2.15.1" },
];

const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"];
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
const MIRROR = process.env.JETROUTE_DEBIAN_MIRROR || "http://deb.debian.org/debian";
const NAMES = SUITES.flatMap((s) => [s.expected, majorMinor(s.expected), s.suite]).join(", ");

function majorMinor(version) {
  return version.split(".").slice(0, 2).join(".");
}

/** The suite a name stands for; a version of a suite's major.minor (2.10.28) maps to it too. */
export function suiteFor(name) {
  const found = SUITES.find(
    (s) =>
      name === s.suite ||
      (/^\d+\.\d+(\.\d+)?$/.test(name) && majorMinor(name) === majorMinor(s.expected)),
  );
  if (!found) throw new Error(`unknown nats-server "${name}": use one of ${NAMES}`);
  return found;
}

/** The cached binary for a name (version, major.minor or suite), or undefined. */
export function cachedNatsServer(name) {
  const bin = join(cacheDir(), "nats-server", name, "nats-server");
  return isExecutable(bin) ? bin : undefined;
}

/**
 * The server the tests use without NATS_SERVER_VERSION (src/testing/binary.ts's order:
 * NATS_SERVER_BIN, PATH, Debian's /usr/sbin): `{ bin, version }`, or undefined.
 */
export function defaultNatsServer() {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  const bin = [process.env.NATS_SERVER_BIN, ...dirs.map((d) => join(d, "nats-server"))].find(
    (p) => p && isExecutable(p),
  );
  return bin ? { bin, version: natsServerVersion(bin) } : undefined;
}

/** `nats-server --version` -> "2.15.1". */
export function natsServerVersion(bin) {
  const out = run(bin, ["--version"]).trim();
  const m = /v(\d+\.\d+\.\d+\S*)/.exec(out);
  if (!m?.[1]) throw new Error(`${bin} --version printed "${out}", not a nats-server version`);
  return m[1];
}

/**
 * Makes sure the named server is in the cache and returns `{ name, suite, version, bin, fetched,
 * warning? }`. `warning` says when Debian's suite no longer ships the version asked or expected.
 */
export function ensureNatsServer(name, { refresh = false } = {}) {
  const { suite, expected } = suiteFor(name);
  const cached = cachedNatsServer(name);
  if (cached && !refresh) {
    const bin = realpathSync(cached);
    return { name, suite, version: natsServerVersion(bin), bin, fetched: false };
  }
  const { version, bin, debVersion } = fetchFromDebian(suite);
  const exact = /^\d+\.\d+\.\d+$/.test(name);
  let warning;
  if (exact && version !== name) {
    warning =
      `asked for nats-server ${name}, but Debian ${suite} now ships ${version} ` +
      `(package ${debVersion}); cached as ${version}: use NATS_SERVER_VERSION=${version} (or ${suite})`;
  } else if (version !== expected) {
    warning =
      `Debian ${suite} now ships nats-server ${version} (package ${debVersion}), not ${expected}; ` +
      "update SUITES in scripts/nats-server.mjs and the README's Supported versions";
  }
  return { name, suite, version, bin, fetched: true, ...(warning ? { warning } : {}) };
}

function fetchFromDebian(suite) {
  for (const tool of ["apt-get", "dpkg-deb"]) {
    try {
      execFileSync(tool, ["--version"], { stdio: "ignore" });
    } catch {
      throw new Error(`${tool} was not found: fetching nats-server needs Debian's apt and dpkg`);
    }
  }
  if (!existsSync(KEYRING)) {
    throw new Error(
      `${KEYRING} is missing: install it with \`apt-get install debian-archive-keyring\``,
    );
  }
  const tmp = mkdtempSync(join(tmpdir(), "jetroute-apt-"));
  try {
    return fetchInto(tmp, suite);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function fetchInto(tmp, suite) {
  // As root apt drops to `_apt` to download: it must reach the temp folders (else it warns and
  // downloads unsandboxed). As non-root it stays the caller and everything is the caller's.
  chmodSync(tmp, 0o755);
  const empty = join(tmp, "empty.d");
  const download = join(tmp, "download");
  for (const dir of [empty, download, join(tmp, "lists", "partial"), join(tmp, "cache")]) {
    mkdirSync(dir, { recursive: true });
  }
  const aptUid = process.getuid?.() === 0 ? uidOf("_apt") : undefined;
  if (aptUid !== undefined) chownSync(download, aptUid, 0);
  writeFileSync(join(tmp, "sources.list"), `deb [signed-by=${KEYRING}] ${MIRROR} ${suite} main\n`);
  writeFileSync(join(tmp, "status"), "");
  writeFileSync(join(tmp, "preferences"), "");
  const opts = [
    ["Dir::Etc::sourcelist", join(tmp, "sources.list")],
    ["Dir::Etc::sourceparts", empty],
    ["Dir::Etc::preferences", join(tmp, "preferences")],
    ["Dir::Etc::preferencesparts", empty],
    ["Dir::State::Lists", join(tmp, "lists")],
    ["Dir::State::status", join(tmp, "status")],
    ["Dir::Cache", join(tmp, "cache")],
    ["Acquire::Languages", "none"],
  ].flatMap(([k, v]) => ["-o", `${k}=${v}`]);

  log(`fetching nats-server from Debian ${suite} (${MIRROR}) ...`);
  run("apt-get", [...opts, "-q", "update"]);
  run("apt-get", [...opts, "-q", "download", "nats-server"], { cwd: download });
  const deb = readdirSync(download).find((f) => f.endsWith(".deb"));
  if (!deb) throw new Error(`apt-get download nats-server (Debian ${suite}) left no .deb`);
  const debVersion = run("dpkg-deb", ["-f", join(download, deb), "Version"]).trim();
  const extracted = join(tmp, "x");
  run("dpkg-deb", ["-x", join(download, deb), extracted]);
  const inside = ["usr/sbin/nats-server", "usr/bin/nats-server"].map((p) => join(extracted, p));
  const found = inside.find((p) => isExecutable(p));
  if (!found) throw new Error(`${deb} has no usr/sbin/nats-server or usr/bin/nats-server`);
  const version = natsServerVersion(found);

  // Copy then rename, so a concurrent reader never sees half a binary.
  const root = join(cacheDir(), "nats-server");
  const dest = join(root, version);
  mkdirSync(dest, { recursive: true });
  copyFileSync(found, join(dest, "nats-server.tmp"));
  chmodSync(join(dest, "nats-server.tmp"), 0o755);
  renameSync(join(dest, "nats-server.tmp"), join(dest, "nats-server"));
  writeFileSync(
    join(dest, "SOURCE"),
    `nats-server ${debVersion} from Debian ${suite} (${MIRROR}), ${new Date().toISOString()}\n`,
  );
  for (const alias of [suite, majorMinor(version)]) link(root, alias, version);
  log(`cached nats-server ${version} (Debian ${suite}, package ${debVersion}) in ${dest}`);
  return { version, bin: join(dest, "nats-server"), debVersion };
}

/** Points <root>/<alias> at <root>/<target> (relative, so the cache folder can move). */
function link(root, alias, target) {
  if (alias === target) return;
  const path = join(root, alias);
  try {
    unlinkSync(path);
  } catch {
    // not there yet
  }
  symlinkSync(target, path);
}

function uidOf(user) {
  try {
    return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
  } catch {
    return undefined;
  }
}

function main(argv) {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(`usage: node scripts/nats-server.mjs [--refresh] [NAME ...]\nNAME: ${NAMES}`);
    return 0;
  }
  const refresh = argv.includes("--refresh");
  const names = argv.filter((a) => !a.startsWith("--"));
  const unknown = argv.filter((a) => a.startsWith("--") && a !== "--refresh");
  if (unknown.length > 0) {
    console.error(
      `unknown option ${unknown.join(" ")}; usage: nats-server.mjs [--refresh] [NAME ...]`,
    );
    return 2;
  }
  let failed = false;
  for (const name of names.length > 0 ? names : SUITES.map((s) => s.expected)) {
    try {
      const r = ensureNatsServer(name, { refresh });
      if (r.warning) console.error(`WARNING: ${r.warning}`);
      log(`nats-server ${name}: ${r.version} at ${r.bin}${r.fetched ? "" : " (cached)"}`);
      console.log(r.bin);
    } catch (err) {
      console.error(`nats-server ${name}: ${err.message}`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = main(process.argv.slice(2));
}
