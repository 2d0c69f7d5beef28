// Handler timeouts keep the worker busy until the handler returns, on JetStream and core routes.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { withShutdownTimeout } from "../../src/broker/index.js";
import type { CoreRouteStats } from "../../src/core/index.js";
import {
  fixed,
  type Handler,
  route,
  withBackoff,
  withConcurrency,
  withHandlerTimeout,
  withMaxDeliver,
  withQueueGroup,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { makeStream, publishMany, runBroker, unique, useConnection } from "./engine-support.js";
import { within } from "./runtime-support.js";

checkLeaksAfterAll();

/** Handlers that ignore their signal and run `ms`, watched by a gauge of those running. */
function slowHandlers(ms: number) {
  const running = new Set<string>();
  const w = { max: 0, started: 0, returned: 0, overlapping: [] as string[] };
  const handler: Handler = async (msg) => {
    const key = String(msg.streamSequence ?? msg.string());
    if (running.has(key)) w.overlapping.push(key);
    running.add(key);
    w.started++;
    w.max = Math.max(w.max, running.size);
    await sleep(ms); // ignores ctx.signal on purpose
    running.delete(key);
    w.returned++;
  };
  return { handler, watched: w };
}

/** Records Node's process warnings of one kind while a test runs. */
function recordWarnings(name: string): { seen: Error[]; stop(): void } {
  const seen: Error[] = [];
  const listener = (w: Error) => {
    if (w.name === name) seen.push(w);
  };
  process.on("warning", listener);
  return { seen, stop: () => process.off("warning", listener) };
}

describe("handler timeouts", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  describe("on a JetStream route at concurrency 12, timeout 100 ms, handlers running 1 s", () => {
    const { handler, watched } = slowHandlers(1_000);
    const warnings = recordWarnings("MaxListenersExceededWarning");

    before(async () => {
      const stream = unique("TMO");
      const prefix = await makeStream(conn, stream);
      const run = runBroker(
        conn,
        (b) =>
          b.register(
            route(
              "slowpoke",
              handler,
              withStream(stream),
              withSubject(`${prefix}.>`),
              withConcurrency(12),
              withHandlerTimeout(100),
              // Redelivered soon after each timeout: a freed worker would run the copy at once.
              withBackoff(fixed("150ms")),
              withMaxDeliver(-1),
            ),
          ),
        withShutdownTimeout("5s"),
      );
      await run.broker.started();
      await publishMany(conn, `${prefix}.job`, 24);
      // Each message runs twice (it always times out and is retried): four rounds of 12 when
      // workers stay busy; with freed workers every copy would start within a few hundred ms.
      await within(20_000, () => watched.started >= 48);
      await run.stop();
      warnings.stop();
    });

    it("never runs more than 12 handlers at once", () => {
      assert.ok(watched.max <= 12, `${watched.max} handlers ran at once`);
      assert.equal(watched.max, 12);
    });

    it("never runs two copies of one message at once", () => {
      assert.deepEqual(watched.overlapping, []);
    });

    it("emits no MaxListenersExceededWarning", () => {
      assert.deepEqual(warnings.seen, []);
    });
  });

  describe("a broker with 12 routes", () => {
    const warnings = recordWarnings("MaxListenersExceededWarning");

    it("emits no MaxListenersExceededWarning", async () => {
      const run = runBroker(conn, (b) => {
        for (let i = 0; i < 12; i++) {
          b.register(
            route(`many-${i}`, async () => {}, withSubject(unique("many")), withQueueGroup("q")),
          );
        }
      });
      await run.broker.started();
      await run.stop();
      assert.deepEqual(warnings.seen, []);
    });
  });

  it("a core queue route with a handler timeout never runs more than its concurrency", async () => {
    const { handler, watched } = slowHandlers(500);
    const subject = unique("tmo.queue");
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "queue-slowpoke",
          handler,
          withSubject(subject),
          withQueueGroup("workers"),
          withConcurrency(4),
          withHandlerTimeout(50),
        ),
      ),
    );
    await run.broker.started();
    for (let i = 0; i < 16; i++) conn.nats.publish(subject, String(i));
    await conn.nats.flush();
    await within(20_000, () => watched.returned === 16);
    const stats = run.broker.stats()["queue-slowpoke"] as CoreRouteStats;
    await run.stop();
    assert.equal(watched.max, 4);
    assert.equal(stats.failed, 16, "every handler timed out");
  });
});
