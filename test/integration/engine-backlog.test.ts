import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamRouteStats } from "../../src/consumer/index.js";
import { createProducer } from "../../src/producer/index.js";
import type { WindowItem } from "../../src/producer/types.js";
import {
  route,
  withConcurrency,
  withPrefetch,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  makeStream,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("JetStream engine: large backlog", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("never holds more than concurrency + prefetch messages with a 100k backlog", async () => {
    const stream = unique("BACKLOG");
    const prefix = await makeStream(conn, stream);
    const backlog = 100_000;
    const concurrency = 4;
    const prefetch = 4;
    const bound = concurrency + prefetch;
    const producer = createProducer(conn);
    function* items(): Generator<WindowItem> {
      for (let i = 0; i < backlog; i++) yield { subject: `${prefix}.job`, payload: { i } };
    }
    const published = await producer.publishWindowed(items());
    assert.equal(published.published, backlog);

    let handled = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bounded",
          async () => {
            await sleep(1);
            handled++;
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          withConcurrency(concurrency),
          withPrefetch(prefetch),
        ),
      ),
    );
    await run.broker.started();
    const stats = (): JetStreamRouteStats => {
      const s = run.broker.stats().bounded;
      assert.ok(s !== undefined && "held" in s);
      return s;
    };
    // Sample the engine's own count often and the server's view (ack pending) less often,
    // for a few seconds; processing the whole backlog is not the point.
    let peakHeld = 0;
    let peakInFlight = 0;
    let peakAckPending = 0;
    let samples = 0;
    const sampling = (async () => {
      const end = performance.now() + 3_000;
      while (performance.now() < end) {
        const s = stats();
        peakHeld = Math.max(peakHeld, s.held);
        peakInFlight = Math.max(peakInFlight, s.inFlight);
        samples++;
        await sleep(2);
      }
    })();
    const end = performance.now() + 3_000;
    while (performance.now() < end) {
      const info = await consumerInfo(conn, stream, "bounded");
      peakAckPending = Math.max(peakAckPending, info.num_ack_pending);
      await sleep(50);
    }
    await sampling;
    await until(() => handled > 0);
    await run.stop();
    const pending = (await consumerInfo(conn, stream, "bounded")).num_pending;
    assert.ok(pending > 50_000, `most of the backlog should still wait (${pending} pending)`);
    assert.ok(samples > 100, `too few samples (${samples})`);
    assert.ok(peakHeld > concurrency, `the engine never buffered (peak held ${peakHeld})`);
    assert.ok(peakHeld <= bound, `held ${peakHeld} > ${bound}`);
    assert.ok(peakInFlight <= concurrency, `in flight ${peakInFlight} > ${concurrency}`);
    // The server also counts what is on the wire: deliveries not yet read and acks not yet
    // received. Its max_ack_pending (1000 by default) is not what holds this bound.
    assert.ok(peakAckPending <= 2 * bound, `server ack pending ${peakAckPending} > ${2 * bound}`);
    console.log(
      `backlog ${backlog}: handled ${handled} in ~3 s; peak held ${peakHeld}, in flight ${peakInFlight}, server ack pending ${peakAckPending} (bound ${bound}; the durable's cap is 1000), ${samples} samples`,
    );
  });
});
