// Chaos: a slow service in front of a huge backlog. What it holds in memory must be bounded by
// its concurrency and prefetch, not by the backlog: RSS at a 100k backlog must match RSS at 1k.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, withServers } from "../../src/conn/index.js";
import { createProducer } from "../../src/producer/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  publishIds,
  range,
  readRecords,
  type ServiceConfig,
  useChaosBench,
  waitForAcked,
} from "./support.js";

checkLeaksAfterAll();

/** How long the slow service runs against its backlog while its RSS is sampled. */
const OBSERVE_MS = 3_000;
/**
 * Allowed RSS growth from the 1k to the 100k backlog. Buffering the backlog would cost far more:
 * 100k messages held as JsMsg objects (with their ~100-byte payloads) are well over 50 MB.
 */
const MAX_GROWTH_BYTES = 40 * 1024 * 1024;
/** An absolute ceiling as well, for a service with 8 workers and 8 prefetched messages. */
const MAX_RSS_BYTES = 200 * 1024 * 1024;

describe("chaos: a slow consumer in front of a large backlog", { timeout: 120_000 }, async () => {
  const server = await useServer();
  const conn = await connect(withServers(server.url));
  after(() => conn.close());
  const producer = createProducer(conn);
  const bench = useChaosBench();

  async function peakRss(name: string, backlog: number) {
    const stream = name.toUpperCase();
    await ensureStream(conn, stream, withSubjects(`${name}.>`));
    // ~100 bytes a message, so a buffered backlog would show.
    const pad = "x".repeat(90);
    await publishIds(producer, `${name}.job`, range(0, backlog), (id) => ({ id, pad }));
    const config: ServiceConfig = {
      servers: [server.url],
      stream,
      subject: `${name}.>`,
      durable: "worker",
      out: bench.outFile(name),
      concurrency: 8,
      prefetch: 8,
      ackWaitMs: 30_000,
      handlerDelayMs: 20,
      shutdownTimeoutMs: 5_000,
      rssSampleMs: 50,
    };
    const service = bench.spawnService(config);
    await service.ready;
    await waitForAcked(config.out, 1);
    await sleep(OBSERVE_MS);
    service.kill("SIGTERM");
    const exit = await service.exited;
    assert.ok(exit.stopped, `${name}: the service reported its RSS`);
    return { rss: exit.stopped.maxRss, processed: readRecords(config.out).length };
  }

  it("a slow service's RSS does not grow with its backlog (1k vs 100k messages waiting)", async () => {
    const started = performance.now();
    const small = await peakRss("slow_small", 1_000);
    const large = await peakRss("slow_large", 100_000);
    const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
    bench.report({
      scenario: "slow consumer, 100k backlog",
      published: 100_000,
      processed: large.processed,
      lost: "-",
      duplicated: "-",
      ms: performance.now() - started,
      note: `peak RSS ${mb(large.rss)} MB vs ${mb(small.rss)} MB at a 1k backlog`,
    });
    assert.ok(
      large.rss - small.rss < MAX_GROWTH_BYTES,
      `RSS grew from ${mb(small.rss)} MB to ${mb(large.rss)} MB with the backlog`,
    );
    assert.ok(large.rss < MAX_RSS_BYTES, `peak RSS ${mb(large.rss)} MB`);
  });
});
