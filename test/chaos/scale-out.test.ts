// Chaos: 2, then 3 service processes on one durable share the work.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, withServers } from "../../src/conn/index.js";
import { createProducer } from "../../src/producer/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  assertOnlyRedeliveriesDuplicated,
  publishIds,
  range,
  readRecords,
  type Service,
  type ServiceConfig,
  summarize,
  useChaosBench,
  waitForAcked,
  waitSettled,
} from "./support.js";

checkLeaksAfterAll();

describe("chaos: scale-out on one durable", { timeout: 120_000 }, async () => {
  const server = await useServer();
  const conn = await connect(withServers(server.url));
  after(() => conn.close());
  const producer = createProducer(conn);
  const bench = useChaosBench();
  await ensureStream(conn, "SCALE", withSubjects("scale.>"));
  const config: ServiceConfig = {
    servers: [server.url],
    stream: "SCALE",
    subject: "scale.>",
    durable: "worker",
    out: bench.outFile("scale"),
    // A slow-ish handler and few workers: no single process can take everything before the
    // others pull, so the sharing is real work sharing.
    concurrency: 4,
    prefetch: 4,
    ackWaitMs: 10_000,
    handlerDelayMs: 3,
    shutdownTimeoutMs: 10_000,
  };
  const services: Service[] = [];
  const batch = 3_000;

  async function phase(name: string, processes: number, ids: number[]) {
    const started = performance.now();
    while (services.length < processes) services.push(bench.spawnService(config));
    await Promise.all(services.map((s) => s.ready));
    await publishIds(producer, "scale.job", ids);
    await waitForAcked(config.out, (ids.at(-1) ?? 0) + 1);
    await waitSettled(conn, config.stream, config.durable);
    const records = readRecords(config.out);
    const wanted = new Set(ids);
    const mine = records.filter((r) => wanted.has(r.id));
    const s = summarize(mine, ids);
    const shares = services.map((svc) => s.byPid.get(svc.pid) ?? 0);
    bench.report({
      scenario: name,
      published: ids.length,
      processed: s.processed,
      lost: s.lost.length,
      duplicated: s.duplicated,
      ms: performance.now() - started,
      note: `shares ${shares.join(" / ")}`,
    });
    assert.deepEqual(s.lost, []);
    assertOnlyRedeliveriesDuplicated(mine, s.duplicatedIds);
    for (const [i, share] of shares.entries()) {
      assert.ok(share > 0, `process ${i + 1} of ${processes} got no share (${shares.join("/")})`);
    }
  }

  it("two processes on one durable each take a share and together process every message once", async () => {
    await phase("scale-out, 2 processes", 2, range(0, batch));
  });

  it("a third process joins the durable and the three share the next batch", async () => {
    await phase("scale-out, 3 processes", 3, range(batch, 2 * batch));
    for (const s of services) s.kill("SIGTERM");
    const exits = await Promise.all(services.map((s) => s.exited));
    assert.deepEqual(
      exits.map((e) => e.code),
      services.map(() => 0),
    );
  });
});
