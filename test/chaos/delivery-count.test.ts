// Chaos: deliveries that never settle. Releases at shutdown raise the server's delivery count
// without running a handler; a handler that kills its process never settles at all.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, withServers } from "../../src/conn/index.js";
import { UNSETTLED_DELIVERY_ALLOWANCE } from "../../src/consumer/index.js";
import { createProducer } from "../../src/producer/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  ackedIds,
  publishIds,
  range,
  readRecords,
  type ServiceConfig,
  summarize,
  useChaosBench,
  waitFor,
  waitForAcked,
} from "./support.js";

checkLeaksAfterAll();

describe("chaos: deliveries that never settle", { timeout: 120_000 }, async () => {
  const server = await useServer();
  const conn = await connect(withServers(server.url));
  after(() => conn.close());
  const producer = createProducer(conn);
  const bench = useChaosBench();

  async function scenario(name: string): Promise<ServiceConfig> {
    const stream = name.toUpperCase();
    const prefix = name.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.>`));
    await ensureStream(conn, `${stream}_DLQ`, withSubjects(`dlq.${prefix}`));
    return {
      servers: [server.url],
      stream,
      subject: `${prefix}.>`,
      durable: "worker",
      out: bench.outFile(name),
      concurrency: 1,
      prefetch: 8,
      ackWaitMs: 1_000,
      handlerDelayMs: 100,
      shutdownTimeoutMs: 5_000,
      dlq: `dlq.${prefix}`,
      maxDeliver: 1,
    };
  }

  async function dlqCount(stream: string): Promise<number> {
    const jsm = await conn.jetstreamManager();
    return (await jsm.streams.info(`${stream}_DLQ`)).state.messages;
  }

  it("three SIGTERM and restart cycles over a backlog never dead-letter a message whose handler never ran", async () => {
    const started = performance.now();
    const total = 40;
    const config = await scenario("released");
    const ids = range(0, total);
    await publishIds(producer, "released.job", ids);
    let released = 0;
    for (let cycle = 1; cycle <= 3; cycle++) {
      const service = bench.spawnService(config);
      await service.ready;
      await waitForAcked(config.out, ackedIds(readRecords(config.out)).size + 2);
      service.kill("SIGTERM");
      const exit = await service.exited;
      assert.equal(exit.code, 0, `cycle ${cycle}: ${exit.stopped?.error}`);
      released += exit.stopped === undefined ? 0 : 1;
    }
    const last = bench.spawnService(config);
    await last.ready;
    await waitForAcked(config.out, total);
    last.kill("SIGTERM");
    await last.exited;

    const s = summarize(readRecords(config.out), ids);
    bench.report({
      scenario: "3 SIGTERM cycles, maxDeliver 1",
      published: total,
      processed: s.processed,
      lost: s.lost.length,
      duplicated: s.duplicated,
      ms: performance.now() - started,
      note: `${released} drains; DLQ ${await dlqCount(config.stream)}`,
    });
    assert.deepEqual(s.lost, []);
    assert.equal(await dlqCount(config.stream), 0, "a released message was dead-lettered");
  });

  it(`a handler that kills its process on every delivery reaches the DLQ on delivery maxDeliver + ${UNSETTLED_DELIVERY_ALLOWANCE} + 1`, async () => {
    const started = performance.now();
    const config = await scenario("crasher");
    await publishIds(producer, "crasher.job", [0], () => ({ id: 0, poison: "crash" }));
    const expectedRuns = (config.maxDeliver ?? 0) + UNSETTLED_DELIVERY_ALLOWANCE;
    let spawns = 0;
    while ((await dlqCount(config.stream)) === 0 && spawns <= expectedRuns + 1) {
      const service = bench.spawnService(config);
      spawns++;
      // The handler may kill the process before it says it is ready.
      await service.ready.catch(() => {});
      // Either the handler crashes the process, or the engine dead-letters without running it.
      await Promise.race([
        service.exited,
        waitFor("a dead letter", async () => (await dlqCount(config.stream)) > 0, 15_000).catch(
          () => {},
        ),
      ]);
      service.kill("SIGKILL");
      await service.exited;
    }
    const runs = readRecords(config.out).filter((r) => r.outcome === "crash");
    bench.report({
      scenario: "handler crashes its process",
      published: 1,
      processed: 0,
      lost: "-",
      duplicated: "-",
      ms: performance.now() - started,
      note: `${runs.length} crashing runs, ${spawns} processes, then dead-lettered`,
    });
    assert.equal(await dlqCount(config.stream), 1);
    assert.deepEqual(
      runs.map((r) => r.dc),
      range(1, expectedRuns + 1),
      "the handler ran on each delivery up to the allowance, and not after",
    );
  });
});
