#!/usr/bin/env node
// Makes sure PostgreSQL's server binaries are available for the tests that start a throw-away
// server (src/testing/postgres: initdb + postgres + pg_isready). Order: JETROUTE_PG_BIN, then the
// newest /usr/lib/postgresql/<major>/bin (Debian), then PATH; the order is binary.ts's. Else
// `apt-get install postgresql` when root; else exit 1 saying how to install it. Debian's package
// also creates the `postgres` system user the server runs as when the tests run as root. The
// package's own cluster service is not needed: the tests never use it.
import { execFileSync } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

const NEEDED = ["initdb", "postgres", "pg_isready"];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function debianBins() {
  try {
    return readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => join("/usr/lib/postgresql", v, "bin"));
  } catch {
    return [];
  }
}

function find() {
  if (process.env.JETROUTE_PG_BIN) {
    const dir = process.env.JETROUTE_PG_BIN;
    if (NEEDED.every((n) => executable(join(dir, n)))) return dir;
    console.error(`JETROUTE_PG_BIN=${dir} does not hold ${NEEDED.join(", ")}`);
    process.exit(1);
  }
  const dirs = [...debianBins(), ...(process.env.PATH ?? "").split(delimiter).filter(Boolean)];
  return dirs.find((dir) => NEEDED.every((n) => executable(join(dir, n))));
}

let bin = find();
if (!bin) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      "PostgreSQL is not installed and this script is not running as root.\n" +
        "Install it with:  sudo apt-get update && sudo apt-get install -y postgresql\n" +
        "or point JETROUTE_PG_BIN at a folder holding initdb, postgres and pg_isready.",
    );
    process.exit(1);
  }
  console.error("PostgreSQL not found; installing Debian's postgresql with apt-get ...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-q", "postgresql"], { stdio: "inherit", env });
  bin = find();
  if (!bin) {
    console.error("apt-get finished but no initdb/postgres/pg_isready under /usr/lib/postgresql.");
    process.exit(1);
  }
}
if (process.env.JETROUTE_QUIET !== "1") {
  const version = execFileSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).trim();
  console.error(`using ${bin} (${version})`);
}
