#!/usr/bin/env node
// Makes sure PostgreSQL's server binaries are available for the tests that start a throw-away
// server (src/testing/postgres: initdb + postgres + pg_isready). Order: JETROUTE_PG_BIN, then the
// newest /usr/lib/postgresql/<major>/bin (Debian), then PATH; the order is binary.ts's. Else
// `apt-get install postgresql` when root; else exit 1 saying how to install it. Debian's package
// also creates the `postgres` system user the server runs as when the tests run as root. The
// package's own cluster service is not needed: the tests never use it.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { aptInstall, executable } from "./lib/apt.mjs";

const NEEDED = ["initdb", "postgres", "pg_isready"];

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
bin ??= aptInstall("postgresql", {
  what: "PostgreSQL",
  otherwise: "point JETROUTE_PG_BIN at a folder holding initdb, postgres and pg_isready",
  find,
  stillMissing: "no initdb/postgres/pg_isready under /usr/lib/postgresql",
});
if (process.env.JETROUTE_QUIET !== "1") {
  const version = execFileSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).trim();
  console.error(`using ${bin} (${version})`);
}
