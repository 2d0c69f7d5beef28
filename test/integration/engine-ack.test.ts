import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Broker,
  withBrokerMiddleware,
  withConnection,
  withShutdownTimeout,
} from "../../src/broker/index.js";
import { desiredConsumerConfig } from "../../src/consumer/index.js";
import type { Duration } from "../../src/duration/index.js";
import {
  ErrBrokerRunning,
  ErrConnectionRequired,
  ErrDuplicateRoute,
  ErrInvalidDuration,
  ErrInvalidOption,
  ErrStreamRequired,
} from "../../src/errors/index.js";
import {
  ack,
  buildRouteSpec,
  type JetStreamRouteSpec,
  type Middleware,
  route,
  withAckWait,
  withConcurrency,
  withPrefetch,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  makeStream,
  publishMany,
  recordingLogger,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("JetStream engine: acks and bounded workers", { timeout: 20_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("acks every handled message, running the handler once per message", async () => {
    const stream = unique("ACK");
    const prefix = await makeStream(conn, stream);
    const seen = new Map<number, number>();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "acker",
          async (msg) => {
            const seq = msg.streamSequence ?? -1;
            seen.set(seq, (seen.get(seq) ?? 0) + 1);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          withConcurrency(4),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.created`, 50);
    await until(() => seen.size === 50);
    await until(async () => {
      const info = await consumerInfo(conn, stream, "acker");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    await run.stop();
    assert.deepEqual(
      [...seen.values()].filter((n) => n !== 1),
      [],
    );
  });

  it("acks a handler that returns a plain value or nothing", async () => {
    const stream = unique("VALUE");
    const prefix = await makeStream(conn, stream);
    let handled = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "plain",
          async () => {
            handled++;
            return handled % 2 === 0 ? { ok: true } : undefined;
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.x`, 6);
    await until(async () => {
      const info = await consumerInfo(conn, stream, "plain");
      return handled === 6 && info.num_ack_pending === 0 && info.num_pending === 0;
    });
    await run.stop();
  });

  it("never runs more handlers at once than the route's concurrency", async () => {
    const stream = unique("PEAK");
    const prefix = await makeStream(conn, stream);
    let running = 0;
    let peak = 0;
    let done = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bounded",
          async () => {
            running++;
            peak = Math.max(peak, running);
            await sleep(5);
            running--;
            done++;
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          withConcurrency(3),
          withPrefetch(5),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.job`, 60);
    await until(() => done === 60);
    await run.stop();
    assert.equal(peak, 3);
  });

  it("creates the durable with explicit acks, the route's settings and no backoff list", async () => {
    const stream = unique("CFG");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "configured",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.in`),
          withConcurrency(2),
          withPrefetch(3),
          withAckWait("2s"),
        ),
      ),
    );
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "configured");
    await run.stop();
    assert.equal(info.config.ack_policy, "explicit");
    assert.equal(info.config.deliver_policy, "all");
    assert.equal(info.config.filter_subject, `${prefix}.in`);
    assert.equal(info.config.ack_wait, 2_000_000_000);
    // A cap over every process on the durable, not this one's concurrency + prefetch (5).
    assert.equal(info.config.max_ack_pending, 1_000);
    assert.equal(info.config.backoff, undefined);
  });

  it("updates an existing durable whose settings differ from the route, and logs the change", async () => {
    const stream = unique("UPD");
    const prefix = await makeStream(conn, stream);
    const jsm = await conn.jetstreamManager();
    const spec = buildRouteSpec(
      route("updated", async () => ack(), withStream(stream), withSubject(`${prefix}.a`)),
    ) as JetStreamRouteSpec;
    await jsm.consumers.add(stream, {
      ...desiredConsumerConfig(spec, conn.serverVersion()),
      ack_wait: 9_000_000_000,
    });
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "updated",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.a`),
          withAckWait("3s"),
        ),
      ),
    );
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "updated");
    await run.stop();
    assert.equal(info.config.ack_wait, 3_000_000_000);
    const line = run.logger.lines.find((l) => l.msg === "consumer updated");
    assert.deepEqual(line?.obj.changes, ["ack_wait: 9000000000 -> 3000000000"]);
  });

  it("rejects a missing connection and bad broker options with their sentinel errors", () => {
    assert.throws(() => new Broker(), ErrConnectionRequired);
    assert.throws(
      () => new Broker(withConnection(conn), withShutdownTimeout("soon" as Duration)),
      ErrInvalidDuration,
    );
    assert.throws(
      () => new Broker(withConnection(conn), withBrokerMiddleware("nope" as unknown as Middleware)),
      ErrInvalidOption,
    );
  });

  it("throws register() errors synchronously and refuses routes after run()", async () => {
    const stream = unique("REG");
    const prefix = await makeStream(conn, stream);
    const broker = new Broker(withConnection(conn), withLoggerSilent());
    assert.throws(
      () => broker.register(route("nostream", async () => ack(), withSubject("x.y"))),
      ErrStreamRequired,
    );
    const ok = route("dup", async () => ack(), withStream(stream), withSubject(`${prefix}.a`));
    broker.register(ok);
    assert.throws(() => broker.register(ok), ErrDuplicateRoute);
    const controller = new AbortController();
    const done = broker.run(controller.signal);
    assert.throws(
      () =>
        broker.register(
          route("late", async () => ack(), withStream(stream), withSubject(`${prefix}.b`)),
        ),
      ErrBrokerRunning,
    );
    await assert.rejects(broker.run(), ErrBrokerRunning);
    await broker.started();
    controller.abort();
    await done;
  });
});

function withLoggerSilent() {
  // A recording logger keeps the test output clean without depending on pino's silent level.
  return (d: { logger?: unknown }) => {
    d.logger = recordingLogger();
  };
}
