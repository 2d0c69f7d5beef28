// Chaos: the service process dies (SIGKILL) or is told to stop (SIGTERM) mid-stream.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, withServers } from "../../src/conn/index.js";
import { createProducer } from "../../src/producer/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  ackedIds,
  assertOnlyRedeliveriesDuplicated,
  publishIds,
  range,
  readRecords,
  type ServiceConfig,
  summarize,
  useChaosBench,
  waitForAcked,
  waitSettled,
} from "./support.js";

checkLeaksAfterAll();

describe("chaos: the service process dies or stops mid-stream", { timeout: 120_000 }, async () => {
  const server = await useServer();
  const conn = await connect(withServers(server.url));
  after(() => conn.close());
  const producer = createProducer(conn);
  const bench = useChaosBench();

  async function scenario(name: string): Promise<ServiceConfig> {
    const stream = name.toUpperCase();
    const prefix = name.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.>`));
    return {
      servers: [server.url],
      stream,
      subject: `${prefix}.>`,
      durable: "worker",
      out: bench.outFile(name),
      concurrency: 8,
      prefetch: 8,
      // Short, so messages the killed process held come back quickly.
      ackWaitMs: 2_000,
      handlerDelayMs: 1,
      shutdownTimeoutMs: 10_000,
    };
  }

  it("a consumer process killed with SIGKILL mid-stream and restarted loses no message", async () => {
    const started = performance.now();
    const total = 3_000;
    const config = await scenario("crash_kill");
    const ids = range(0, total);
    await publishIds(producer, "crash_kill.job", ids);

    const first = bench.spawnService(config);
    await first.ready;
    await waitForAcked(config.out, total / 3);
    first.kill("SIGKILL");
    const firstExit = await first.exited;
    assert.equal(firstExit.signal, "SIGKILL");
    const beforeRestart = ackedIds(readRecords(config.out)).size;
    assert.ok(beforeRestart < total, "the kill landed mid-stream");

    const second = bench.spawnService(config);
    await second.ready;
    await waitForAcked(config.out, total);
    await waitSettled(conn, config.stream, config.durable);
    second.kill("SIGTERM");
    await second.exited;

    const records = readRecords(config.out);
    const s = summarize(records, ids);
    bench.report({
      scenario: "SIGKILL + restart",
      published: total,
      processed: s.processed,
      lost: s.lost.length,
      duplicated: s.duplicated,
      ms: performance.now() - started,
      note: `${beforeRestart} before the kill`,
    });
    assert.deepEqual(s.lost, []);
    // At-least-once: only a message the killed process handled but whose ack never reached the
    // server may run again, and then as a redelivery in the restarted process.
    for (const id of s.duplicatedIds) {
      const runs = records.filter((r) => r.id === id && r.outcome === "ack");
      assert.ok(
        runs.some((r) => r.pid === first.pid),
        `id ${id} was duplicated without the crash`,
      );
      assert.ok(
        runs.some((r) => r.pid === second.pid && r.dc > 1),
        `id ${id} ran twice but not as a redelivery`,
      );
    }
  });

  it("SIGTERM under load drains within the shutdown timeout, and nothing acked is processed again", async () => {
    const started = performance.now();
    const total = 3_000;
    const config = { ...(await scenario("crash_term")), concurrency: 32, handlerDelayMs: 5 };
    const ids = range(0, total);
    await publishIds(producer, "crash_term.job", ids);

    const first = bench.spawnService(config);
    await first.ready;
    await waitForAcked(config.out, total / 3);
    first.kill("SIGTERM");
    const firstExit = await first.exited;
    assert.equal(firstExit.code, 0);
    assert.ok(firstExit.stopped, "the service reported its drain");
    assert.equal(firstExit.stopped.error, undefined);
    // The contract: run() resolves within the shutdown timeout (handlers never needed aborting).
    assert.ok(
      firstExit.stopped.drainMs < config.shutdownTimeoutMs,
      `drain took ${firstExit.stopped.drainMs} ms`,
    );
    const ackedFirst = ackedIds(readRecords(config.out).filter((r) => r.pid === first.pid));
    assert.ok(ackedFirst.size < total, "the SIGTERM landed mid-stream");

    const second = bench.spawnService(config);
    await second.ready;
    await waitForAcked(config.out, total);
    await waitSettled(conn, config.stream, config.durable);
    second.kill("SIGTERM");
    await second.exited;

    const records = readRecords(config.out);
    const s = summarize(records, ids);
    const ackedTwice = records
      .filter((r) => r.pid === second.pid && ackedFirst.has(r.id))
      .map((r) => r.id);
    bench.report({
      scenario: "SIGTERM drain + restart",
      published: total,
      processed: s.processed,
      lost: s.lost.length,
      duplicated: s.duplicated,
      ms: performance.now() - started,
      note: `drain ${Math.round(firstExit.stopped.drainMs)} ms, ${ackedFirst.size} acked before`,
    });
    assert.deepEqual(s.lost, []);
    assert.deepEqual(ackedTwice, []);
    // Messages the first process released (nak'd unstarted) may reach the second twice: on
    // nats-server 2.9 they come once as the nak's redelivery and once more with delivery count 1
    // (seen here: same stream sequence, dc 2 then dc 1). At-least-once allows it; it is counted
    // in the table, and no such message was ever acked by the first process.
    assertOnlyRedeliveriesDuplicated(records, s.duplicatedIds);
  });
});
