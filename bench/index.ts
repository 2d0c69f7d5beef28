// `npm run bench [name ...]`: runs each registered measure (raw nats.js vs jetroute), prints
// `ratio <name> <value>` lines on stdout, and writes bench/results.json.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jetstream } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { connect, withServers } from "../src/conn/index.js";
import { startServer, type TestServer } from "../src/testing/index.js";
import { measure as publish } from "./measures/publish.js";
import type { BenchContext, Measure } from "./types.js";

/** Every measure, in run order. Add new ones here (one file each in bench/measures/). */
const MEASURES: readonly Measure[] = [publish];

interface ResultRow {
  name: string;
  description: string;
  messages: number;
  rawMsgPerSec: number;
  jetrouteMsgPerSec: number;
  ratio: number;
  date: string;
  node: string;
  server: string;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const selected = wanted.length === 0 ? MEASURES : MEASURES.filter((m) => wanted.includes(m.name));
  if (selected.length === 0) {
    throw new Error(
      `no measure named ${wanted.join(", ")}; have ${MEASURES.map((m) => m.name).join(", ")}`,
    );
  }
  const server: TestServer | undefined = process.env.NATS_URL ? undefined : await startServer();
  const url = process.env.NATS_URL ?? server?.url ?? "";
  const conn = await connect(withServers(url));
  const rawNc = await natsConnect({ servers: url });
  const rows: ResultRow[] = [];
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
      const out = await m.run(ctx);
      const ratio = out.jetrouteMsgPerSec / out.rawMsgPerSec;
      console.log(`ratio ${m.name} ${ratio.toFixed(3)}`);
      console.log(
        `  ${m.name}: raw ${Math.round(out.rawMsgPerSec)} msg/s, jetroute ${Math.round(out.jetrouteMsgPerSec)} msg/s (${out.messages} messages, median of ${ctx.rounds})`,
      );
      rows.push({
        name: m.name,
        description: m.description,
        messages: out.messages,
        rawMsgPerSec: Math.round(out.rawMsgPerSec),
        jetrouteMsgPerSec: Math.round(out.jetrouteMsgPerSec),
        ratio: Number(ratio.toFixed(3)),
        date: new Date().toISOString(),
        node: process.version,
        server: health.serverVersion ?? "unknown",
      });
    }
  } finally {
    await rawNc.close();
    await conn.close();
    await server?.stop();
  }
  const file = fileURLToPath(new URL("./results.json", import.meta.url));
  writeFileSync(file, `${JSON.stringify(rows, null, 2)}\n`);
}

await main();
