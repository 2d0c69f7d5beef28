// `npm run bench [name ...]` (or `BENCH_ONLY=name1,name2`): runs each registered measure (raw
// nats.js vs jetroute, same server, same run), prints `ratio <name> <value>` lines and a final
// table on stdout, and writes bench/results.json, docs/bench.svg and docs/benchmarks.md.
import { jetstream } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { connect, withServers } from "../src/conn/index.js";
import { startServer, type TestServer } from "../src/testing/index.js";
import { consumeMeasure } from "./measures/consume.js";
import { measure as fanout } from "./measures/fanout.js";
import { inboxMeasure } from "./measures/inbox.js";
import { measure as ioBound } from "./measures/io-bound.js";
import { metricsMeasure } from "./measures/metrics.js";
import { measure as outboxRelay } from "./measures/outbox.js";
import { measure as poisonFlood } from "./measures/poison-flood.js";
import { measure as publish } from "./measures/publish.js";
import { measure as replay } from "./measures/replay.js";
import { measure as requestReply } from "./measures/request-reply.js";
import { measure as rssBacklog } from "./measures/rss-backlog.js";
import { measure as scaleOut } from "./measures/scale-out.js";
import { measure as tracingNoop } from "./measures/tracing.js";
import { type ResultRow, renderTable, writeReports } from "./report.js";
import type { BenchContext, Measure } from "./types.js";

/** Every measure, in run order. Add new ones here (one file each in bench/measures/). */
const MEASURES: readonly Measure[] = [
  publish,
  consumeMeasure(1),
  consumeMeasure(16),
  metricsMeasure(1),
  metricsMeasure(16),
  ioBound,
  poisonFlood,
  requestReply,
  fanout,
  scaleOut,
  rssBacklog,
  replay,
  tracingNoop,
  outboxRelay,
  inboxMeasure(16),
  inboxMeasure(64),
];

function selectMeasures(): readonly Measure[] {
  const wanted = [
    ...process.argv.slice(2),
    ...(process.env.BENCH_ONLY ?? "").split(",").map((s) => s.trim()),
  ].filter((s) => s !== "");
  if (wanted.length === 0) return MEASURES;
  const unknown = wanted.filter((w) => !MEASURES.some((m) => m.name === w));
  if (unknown.length > 0) {
    throw new Error(
      `no measure named ${unknown.join(", ")}; have ${MEASURES.map((m) => m.name).join(", ")}`,
    );
  }
  return MEASURES.filter((m) => wanted.includes(m.name));
}

async function main(): Promise<void> {
  const selected = selectMeasures();
  const server: TestServer | undefined = process.env.NATS_URL ? undefined : await startServer();
  const url = process.env.NATS_URL ?? server?.url ?? "";
  const conn = await connect(withServers(url));
  const rawNc = await natsConnect({ servers: url });
  const rows: ResultRow[] = [];
  const startedAt = performance.now();
  try {
    const health = await conn.health();
    const ctx: BenchContext = {
      conn,
      raw: { nc: rawNc, js: jetstream(rawNc) },
      url,
      rounds: Number(process.env.BENCH_ROUNDS ?? 5),
      log: (line) => process.stderr.write(`${line}\n`),
    };
    for (const m of selected) {
      ctx.log(`${m.name}: ${m.description}`);
      const t0 = performance.now();
      const out = await m.run(ctx);
      const ratio = out.ratio ?? (out.raw === undefined ? undefined : out.jetroute / out.raw);
      const row: ResultRow = {
        name: m.name,
        description: m.description,
        messages: out.messages,
        unit: out.unit ?? "msg/s",
        raw: out.raw === undefined ? undefined : round(out.raw),
        jetroute: round(out.jetroute),
        ratio: ratio === undefined ? undefined : Number(ratio.toFixed(3)),
        ratioOf: out.ratioOf ?? "raw",
        goal: out.goal,
        met: ratio === undefined || out.goal === undefined ? undefined : ratio >= out.goal,
        details: out.details ?? {},
        seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        date: new Date().toISOString(),
        node: process.version,
        server: health.serverVersion ?? "unknown",
      };
      rows.push(row);
      if (row.ratio !== undefined) console.log(`ratio ${m.name} ${row.ratio.toFixed(3)}`);
      console.log(
        `  ${m.name}: raw ${row.raw ?? "-"} ${row.unit}, jetroute ${row.jetroute} ${row.unit} (${out.messages} messages, median of ${out.rounds ?? ctx.rounds})${detailText(row)}`,
      );
    }
  } finally {
    await rawNc.close();
    await conn.close();
    await server?.stop();
  }
  console.log("");
  console.log(renderTable(rows));
  console.log(`\ntotal ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
  // A filtered run only refreshes its own rows; the others keep their last figures.
  writeReports(rows, selected.length !== MEASURES.length);
}

function round(n: number): number {
  return Math.abs(n) >= 100 ? Math.round(n) : Number(n.toFixed(3));
}

function detailText(row: ResultRow): string {
  const entries = Object.entries(row.details);
  return entries.length === 0 ? "" : `; ${entries.map(([k, v]) => `${k} ${v}`).join(", ")}`;
}

await main();
