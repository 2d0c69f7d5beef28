#!/usr/bin/env node
// Runs the test groups on several nats-servers and Node versions and prints one table:
//   node scripts/test-matrix.mjs [--servers 2.9.10,2.10.27,2.15.1] [--nodes 20,22,24]
//                                [--suites unit,integration,chaos] [--ci] [--verbose]
// Each leg (server x node x suite) is one `node scripts/run-tests.mjs <suite>` run on that Node
// with NATS_SERVER_VERSION set, one after another: the machine has 2 cores and the chaos tests
// are timing-sensitive, so legs never overlap. Servers and Nodes are fetched first if missing
// (nats-server.mjs, node-bin.mjs). Exits 1 if any leg failed, crashed or printed no summary.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { cacheDir, repoRoot } from "./lib/cache.mjs";
import { failedTests, failureDetails, parseSummary } from "./lib/test-summary.mjs";
import { defaultNatsServer, ensureNatsServer, SUITES } from "./nats-server.mjs";
import { ensureNode } from "./node-bin.mjs";

const GROUPS = ["unit", "integration", "chaos"];
const CURRENT = process.versions.node.split(".")[0] ?? "";

// What .ci/run adds after `npm test` (which covers 2.15.1 on the current Node, every group).
// Kept inside CI's 15-minute budget: chaos runs on the oldest server only (2.10.27's chaos legs
// never differed from 2.9.10's and 2.15.1's), and Node 24 runs the unit tests (where Node's own
// APIs are exercised); `npm run test:node-matrix` runs integration on every Node.
// The 2.10.27 leg leaves out the tests whose server side no version changes (the CLI's command
// layer, PostgreSQL, node:http, client-side tracing and envelopes); 2.9.10 and npm test run them.
const SERVER_AGNOSTIC = [
  "test/integration/cli",
  "test/integration/postgres-harness",
  "test/integration/examples",
  "test/integration/http-endpoint",
  "test/integration/tracing",
  "test/integration/schema-validation",
  "test/integration/envelope",
  "test/integration/outbox",
  "test/integration/inbox-pg",
];
const CI_PLAN = [
  { servers: ["2.9.10"], nodes: [CURRENT], suites: ["integration", "chaos"] },
  { servers: ["2.10.27"], nodes: [CURRENT], suites: ["integration"], exclude: SERVER_AGNOSTIC },
  { servers: ["2.15.1"], nodes: ["24"], suites: ["unit"] },
];

const USAGE = `usage: node scripts/test-matrix.mjs [options]
  --servers LIST  nats-servers (version, major.minor or Debian suite; "default" = the lookup
                  without NATS_SERVER_VERSION); default ${SUITES.map((s) => s.expected).join(",")}
  --nodes LIST    Node majors (20, 22, 24); default the running one (${CURRENT})
  --suites LIST   test groups (${GROUPS.join(", ")}); default all
  --ci            the legs .ci/run adds after npm test (ignores the three above)
  --verbose       stream every leg's test output (else it goes to the log folder only)`;

/** A comma-separated option; left out means `fallback`, but given and empty is a mistake. */
function list(name, value, fallback) {
  if (value === undefined) return fallback;
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`--${name} needs at least one value, got "${value}"`);
  return items;
}

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      servers: { type: "string" },
      nodes: { type: "string" },
      suites: { type: "string" },
      ci: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const plan = values.ci
    ? CI_PLAN
    : [
        {
          servers: list(
            "servers",
            values.servers,
            SUITES.map((s) => s.expected),
          ),
          nodes: list("nodes", values.nodes, [CURRENT]),
          suites: list("suites", values.suites, GROUPS),
        },
      ];
  for (const p of plan) {
    const bad = p.suites.filter((s) => !GROUPS.includes(s));
    if (bad.length > 0)
      throw new Error(`unknown suite ${bad.join(", ")}: use ${GROUPS.join(", ")}`);
  }
  return { plan, verbose: values.verbose, help: values.help };
}

/**
 * Fetches what the plan needs, then lists its legs: one row per (server, node). A row's server is
 * `{ version, bin, isDefault? }`; the default one runs without NATS_SERVER_VERSION.
 */
function prepare(plan) {
  const rows = [];
  const warnings = [];
  for (const p of plan) {
    for (const nodeName of p.nodes) {
      const node = ensureNode(nodeName);
      for (const serverName of p.servers) {
        if (serverName === "default") {
          const found = defaultNatsServer();
          if (!found)
            throw new Error("no nats-server on PATH or in /usr/sbin: run `npm run setup`");
          rows.push({
            server: { ...found, isDefault: true },
            node,
            suites: p.suites,
            exclude: p.exclude,
            cells: {},
          });
          continue;
        }
        const server = ensureNatsServer(serverName);
        if (server.warning) warnings.push(server.warning);
        rows.push({ server, node, suites: p.suites, exclude: p.exclude, cells: {} });
      }
    }
  }
  return { rows, warnings };
}

function legEnv(row) {
  const env = {
    ...process.env,
    JETROUTE_CACHE_DIR: cacheDir(),
    // Child processes that call `node` by name get the leg's Node too.
    PATH: [dirname(row.node.bin), process.env.PATH ?? ""].join(delimiter),
  };
  // The leg's server is its row's, whatever the caller's environment picked.
  delete env.NATS_SERVER_BIN;
  delete env.NATS_SERVER_VERSION;
  if (row.server.isDefault) env.NATS_SERVER_BIN = row.server.bin;
  else env.NATS_SERVER_VERSION = row.server.version;
  // npm test runs the inbox's exactly-once tests at the issue's 10k events; the legs at 2k.
  env.JETROUTE_INBOX_EVENTS ??= "2000";
  if (row.exclude) env.JETROUTE_TEST_EXCLUDE = row.exclude.join(",");
  else delete env.JETROUTE_TEST_EXCLUDE;
  return env;
}

/** One leg's wall-time limit: a normal leg takes under 2 minutes. */
const LEG_LIMIT_MS = Number(process.env.JETROUTE_LEG_LIMIT_MS ?? 8 * 60_000);

function runLeg(row, suite, logFile, verbose) {
  return new Promise((done) => {
    const started = performance.now();
    const log = createWriteStream(logFile);
    let output = "";
    const child = spawn(row.node.bin, ["scripts/run-tests.mjs", suite], {
      cwd: repoRoot,
      env: legEnv(row),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const take = (chunk) => {
      output += chunk;
      log.write(chunk);
      if (verbose) process.stdout.write(chunk);
    };
    child.stdout.setEncoding("utf8").on("data", take);
    child.stderr.setEncoding("utf8").on("data", take);
    // A test file that never ends (Node 24's runner does not cancel one with a live handle at
    // --test-timeout) must not eat the CI budget: the leg is killed and shows as a crash.
    const limit = setTimeout(() => child.kill("SIGKILL"), LEG_LIMIT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(limit);
      log.end();
      const seconds = (performance.now() - started) / 1000;
      done({ code, signal, seconds, summary: parseSummary(output), output });
    });
  });
}

function label(server) {
  return server.isDefault ? `${server.version} (default)` : server.version;
}

function failed(cell) {
  return cell.code !== 0 || !cell.summary || cell.summary.fail > 0 || cell.summary.cancelled > 0;
}

function duration(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return m > 0 ? `${m}m${String(Math.round(s)).padStart(2, "0")}s` : `${s.toFixed(1)}s`;
}

function cellText(cell) {
  if (!cell) return "-";
  const time = duration(cell.seconds);
  if (!cell.summary) return `CRASH (${cell.signal ?? `exit ${cell.code}`}) ${time}`;
  const { pass, fail, skipped, cancelled } = cell.summary;
  const counts = `${pass}/${fail + cancelled}/${skipped}`;
  return `${failed(cell) ? "FAIL " : ""}${counts} ${time}`;
}

function table(rows, suites) {
  const header = ["nats-server", "node", ...suites];
  const body = rows.map((r) => [
    label(r.server),
    r.node.version,
    ...suites.map((s) => cellText(r.cells[s])),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cols) =>
    cols
      .map((c, i) => (c ?? "").padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

async function main(argv) {
  let opts;
  try {
    opts = parse(argv);
  } catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  let resolved;
  try {
    resolved = prepare(opts.plan);
  } catch (err) {
    console.error(`test matrix: cannot set up: ${err.message}`);
    return 1;
  }
  const { rows, warnings } = resolved;
  const logDir = join(cacheDir(), "matrix-logs");
  mkdirSync(logDir, { recursive: true });
  const started = performance.now();

  for (const row of rows) {
    const serverLabel = `nats-server ${label(row.server)} (${row.server.bin})`;
    for (const suite of row.suites) {
      const name = `${row.server.version}${row.server.isDefault ? "-default" : ""}-node${row.node.version}-${suite}`;
      const logFile = join(logDir, `${name}.log`);
      console.log(`== ${serverLabel}, node ${row.node.version}, ${suite} (log: ${logFile})`);
      const cell = await runLeg(row, suite, logFile, opts.verbose);
      row.cells[suite] = cell;
      console.log(`   ${cellText(cell)}`);
      if (failed(cell) && !opts.verbose) {
        console.log(failureDetails(cell.output) || cell.output.split("\n").slice(-40).join("\n"));
      }
    }
  }

  const suites = GROUPS.filter((g) => rows.some((r) => r.suites.includes(g)));
  const total = { pass: 0, fail: 0, skipped: 0 };
  const failures = [];
  for (const row of rows) {
    for (const [suite, cell] of Object.entries(row.cells)) {
      total.pass += cell.summary?.pass ?? 0;
      total.fail += (cell.summary?.fail ?? 0) + (cell.summary?.cancelled ?? 0);
      total.skipped += cell.summary?.skipped ?? 0;
      if (!failed(cell)) continue;
      if (!cell.summary) total.fail += 1;
      const where = `${label(row.server)} / node ${row.node.version} / ${suite}`;
      const names = failedTests(cell.output);
      failures.push(
        `${where}: ${names.length > 0 ? names.join("; ") : `exit ${cell.code ?? cell.signal}, no failed test named`}`,
      );
    }
  }
  const report = [
    "",
    "test matrix: pass/fail/skipped and wall time per leg (fail counts cancelled tests)",
    table(rows, suites),
    ...warnings.map((w) => `WARNING: ${w}`),
    ...(failures.length > 0 ? ["failed:", ...failures.map((f) => `  ${f}`)] : []),
    `${rows.reduce((n, r) => n + Object.keys(r.cells).length, 0)} legs in ${duration((performance.now() - started) / 1000)}; logs in ${logDir}`,
    `matrix: ${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`,
  ].join("\n");
  console.log(report);
  writeFileSync(join(logDir, "table.txt"), `${report}\n`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
