// Chaos: one message in ten is poison. Every poison message must reach the DLQ with its reason,
// and every healthy one must be processed.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, withServers } from "../../src/conn/index.js";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import { createProducer } from "../../src/producer/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  assertOnlyRedeliveriesDuplicated,
  type ProcessedRecord,
  publishIds,
  range,
  readRecords,
  type ServiceConfig,
  summarize,
  useChaosBench,
  waitFor,
  waitSettled,
} from "./support.js";

checkLeaksAfterAll();

describe("chaos: a 10% poison flood", { timeout: 120_000 }, async () => {
  const server = await useServer();
  const conn = await connect(withServers(server.url));
  after(() => conn.close());
  const producer = createProducer(conn);
  const bench = useChaosBench();
  const total = 10_000;
  // Every tenth id is poison; of those, half are rejected by the handler (dead-lettered at once)
  // and half throw on every delivery (retried until maxDeliver, then dead-lettered).
  const poisonKind = (id: number): "reject" | "throw" | undefined =>
    id % 10 !== 0 ? undefined : id % 20 === 0 ? "reject" : "throw";
  const ids = range(0, total);
  const healthy = ids.filter((id) => poisonKind(id) === undefined);
  const poison = ids.filter((id) => poisonKind(id) !== undefined);

  /** From the first message a run handled to its last healthy one, in ms. */
  function healthySpanMs(records: readonly ProcessedRecord[]): number {
    const first = Math.min(...records.map((r) => r.at));
    const lastHealthy = Math.max(...records.filter((r) => r.outcome === "ack").map((r) => r.at));
    return lastHealthy - first;
  }

  async function runService(name: string, withPoison: boolean) {
    const stream = name.toUpperCase();
    await ensureStream(conn, stream, withSubjects(`${name}.>`));
    await ensureStream(conn, `${stream}_DLQ`, withSubjects(`dlq.${name}`));
    const config: ServiceConfig = {
      servers: [server.url],
      stream,
      subject: `${name}.>`,
      durable: "worker",
      out: bench.outFile(name),
      concurrency: 16,
      ackWaitMs: 5_000,
      handlerDelayMs: 1,
      shutdownTimeoutMs: 10_000,
      dlq: `dlq.${name}`,
      maxDeliver: 3,
      backoffMs: 50,
    };
    const published = withPoison ? ids : healthy;
    await publishIds(producer, `${name}.job`, published, (id) => {
      const kind = withPoison ? poisonKind(id) : undefined;
      return kind === undefined ? { id } : { id, poison: kind };
    });
    const service = bench.spawnService(config);
    await service.ready;
    // Timed from ready: the child's start-up (tsx, connect) is not the route's throughput.
    const started = performance.now();
    const jsm = await conn.jetstreamManager();
    const expectedDlq = withPoison ? poison.length : 0;
    let progress = "";
    await waitFor(
      `${name}: healthy processed and poison dead-lettered`,
      async () => {
        const s = summarize(readRecords(config.out), healthy);
        const dlq = (await jsm.streams.info(`${stream}_DLQ`)).state.messages;
        progress = `${s.processed} processed, ${dlq} dead letters`;
        return s.processed === healthy.length && dlq >= expectedDlq;
      },
      60_000,
      () => progress,
    );
    const ms = performance.now() - started;
    await waitSettled(conn, stream, "worker");
    service.kill("SIGTERM");
    await service.exited;
    return { config, ms, published: published.length };
  }

  it("every poison message is dead-lettered with its reason and every healthy message is processed", async () => {
    // The same service without poison, for the throughput comparison printed in the table.
    const baseline = await runService("clean", false);
    const flood = await runService("poison", true);

    const records = readRecords(flood.config.out);
    const s = summarize(records, healthy);
    const jsm = await conn.jetstreamManager();
    const info = await jsm.streams.info("POISON_DLQ");
    const dead = new Map<number, { reason: string | undefined; deliveries: number }>();
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage("POISON_DLQ", { seq });
      if (m === null) continue;
      const body = m.json<{ id: number }>();
      assert.equal(dead.has(body.id), false, `id ${body.id} dead-lettered twice`);
      dead.set(body.id, {
        reason: m.header?.get(DeadLetterHeader.Error),
        deliveries: Number(m.header?.get(DeadLetterHeader.DeliveryCount)),
      });
    }
    // Printed, not asserted: throughput belongs to the bench (its poison-flood measure, with
    // paired rounds). Timed here by the service's own
    // records, from its first handled message to its last healthy one.
    const baseRate = healthy.length / healthySpanMs(readRecords(baseline.config.out));
    const floodRate = healthy.length / healthySpanMs(records);
    bench.report({
      scenario: "10% poison flood",
      published: flood.published,
      processed: s.processed,
      lost: s.lost.length,
      duplicated: s.duplicated,
      ms: flood.ms,
      note: `${dead.size} in DLQ; healthy rate ${(floodRate / baseRate).toFixed(2)}x the clean run`,
    });
    bench.report({
      scenario: "  (no-poison baseline)",
      published: baseline.published,
      processed: summarize(readRecords(baseline.config.out), healthy).processed,
      lost: "-",
      duplicated: "-",
      ms: baseline.ms,
    });

    assert.deepEqual(s.lost, []);
    assertOnlyRedeliveriesDuplicated(records, s.duplicatedIds);
    assert.deepEqual(
      [...dead.keys()].sort((a, b) => a - b),
      poison,
    );
    for (const id of poison) {
      const letter = dead.get(id);
      assert.ok(letter?.reason, `dead letter ${id} carries a reason`);
      if (poisonKind(id) === "reject") {
        // reject() dead-letters on the first delivery, with the handler's own reason.
        assert.equal(letter.reason, `poison message ${id}`);
        assert.equal(letter.deliveries, 1);
      } else {
        // A thrown error is retried with backoff and dead-lettered on the last allowed delivery.
        assert.equal(letter.deliveries, 3);
      }
    }
    // No poison message ever counts as processed.
    assert.equal(
      records.some((r) => r.outcome === "ack" && poisonKind(r.id) !== undefined),
      false,
    );
  });
});
