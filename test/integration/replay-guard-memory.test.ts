import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { JetStreamRouteStats } from "../../src/consumer/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { unique, useConnection } from "./engine-support.js";

checkLeaksAfterAll();

const childScript = fileURLToPath(new URL("./fixtures/guard-memory-child.ts", import.meta.url));

/** Messages of the route settled before the heap is first measured (buffers warmed up). */
const WARM = 2_000;
/** Messages of the route settled between the two measurements, as the issue asks. */
const MEASURED = 100_000;
const MAX_GROWTH_BYTES = 2 * 1024 * 1024;

interface Report {
  readonly heapGrowth: number;
  readonly stats: JetStreamRouteStats;
}

describe("Replay guard memory", { timeout: 120_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGKILL");
        await once(c, "exit");
      }
    }
  });

  /**
   * Publishes `pairs` messages `{ i }` to `x.a`, each followed by one to `x.b`, in order on one
   * connection: the route on `x.a` sees every other stream sequence, so no two of its
   * settlements are adjacent.
   */
  async function publishInterleaved(prefix: string, from: number, pairs: number): Promise<void> {
    const chunk = 2_000;
    for (let start = from; start < from + pairs; start += chunk) {
      const acks: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(start + chunk, from + pairs); i++) {
        acks.push(conn.jetstream.publish(`${prefix}.a`, JSON.stringify({ i })));
        acks.push(conn.jetstream.publish(`${prefix}.b`, JSON.stringify({ i })));
      }
      await Promise.all(acks);
    }
  }

  it("grows the heap by less than 2 MB while 100k settlements wait behind one parked message on an interleaved stream", async () => {
    const stream = unique("GUARD");
    const prefix = stream.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.a`, `${prefix}.b`));
    // i = 0 is parked by a 1 h retry: the ack floor stays below everything settled after it.
    await publishInterleaved(prefix, 0, WARM + 1);

    const child = spawn(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        childScript,
        server.url,
        stream,
        `${prefix}.a`,
        String(WARM),
        String(MEASURED),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    const exited = once(child, "exit");
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();

    const ready = await lines.next();
    assert.deepEqual(JSON.parse(String(ready.value)), { ready: true });
    await publishInterleaved(prefix, WARM + 1, MEASURED);
    const result = await lines.next();
    const report = JSON.parse(String(result.value)) as Report;
    const [code] = await exited;
    assert.equal(code, 0);

    assert.ok(
      report.heapGrowth < MAX_GROWTH_BYTES,
      `heap grew by ${report.heapGrowth} bytes (limit ${MAX_GROWTH_BYTES})`,
    );
    // What the route saw: the floor pinned below the parked message, every settlement recorded.
    assert.equal(report.stats.ackFloor, 0);
    assert.equal(report.stats.acked, WARM + MEASURED);
    assert.deepEqual(report.stats.replayGuard, {
      floor: 0,
      tracked: WARM + MEASURED,
      capacity: 2 ** 20,
      bytes: 128 * 1024,
      evicted: 0,
    });
  });
});
