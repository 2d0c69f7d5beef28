// broker.health(): each route's state, last error and consumer lag, the connection, and what
// liveness and readiness probes read from it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, withConnection, withHealthInterval } from "../../src/broker/index.js";
import {
  ack,
  route,
  withConcurrency,
  withDLQ,
  withIdleHeartbeat,
  withMaxDeliver,
  withPrefetch,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  gate,
  makeStream,
  publishMany,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("broker.health()", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("reports every route idle and the broker not ready before run()", async () => {
    const broker = new Broker(withConnection(conn));
    broker.register(route("echo", async () => "hi", withSubject(unique("h")), withRequestReply()));
    const h = await broker.health();
    assert.equal(h.state, "idle");
    assert.equal(h.ready, false);
    assert.equal(h.live, true);
    assert.equal(h.routes.echo?.state, "idle");
    assert.deepEqual(h.notReady, ['route "echo" is idle']);
  });

  it("is not ready while a route is starting, and ready once every route runs", async () => {
    const stream = unique("HEALTH");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(route("svc", async () => ack(), withStream(stream), withSubject(`${prefix}.a`))),
    );
    const starting = await run.broker.health();
    assert.equal(starting.routes.svc?.state, "starting");
    assert.equal(starting.ready, false);
    await run.broker.started();
    const running = await run.broker.health();
    await run.stop();
    assert.equal(running.routes.svc?.state, "running");
    assert.equal(running.state, "running");
    assert.equal(running.ready, true, running.notReady.join("; "));
    assert.equal(running.connection.connected, true);
    assert.equal(typeof running.connection.rttMs, "number");
    const stopped = await run.broker.health();
    assert.equal(stopped.routes.svc?.state, "stopped");
    assert.equal(stopped.state, "stopped");
  });

  it("reports the durable's pending count as consumer info does, read on the interval", async () => {
    const stream = unique("HEALTH");
    const prefix = await makeStream(conn, stream);
    const hold = gate();
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "svc",
            async () => {
              await hold.promise;
              return ack();
            },
            withStream(stream),
            withSubject(`${prefix}.a`),
            withConcurrency(1),
            withPrefetch(1),
          ),
        ),
      withHealthInterval("100ms"),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 20);
    const published = new Date();
    await until(async () => {
      const lag = (await run.broker.health()).routes.svc?.consumer;
      return lag !== undefined && lag.readAt > published && lag.ackPending === 2;
    });
    const h = await run.broker.health();
    const info = await consumerInfo(conn, stream, "svc");
    hold.open();
    await run.stop();
    assert.equal(h.routes.svc?.consumer?.pending, info.num_pending);
    assert.equal(h.routes.svc?.consumer?.pending, 18);
    assert.equal(h.routes.svc?.consumer?.ackPending, info.num_ack_pending);
    assert.equal(h.routes.svc?.held, 2);
    assert.equal(h.routes.svc?.inFlight, 1);
  });

  it("keeps a route's last handler error with its code and when it happened", async () => {
    const stream = unique("HEALTH");
    const prefix = await makeStream(conn, stream, `${stream.toLowerCase()}_dlq`);
    const before = new Date();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async (msg) => msg.json(),
          withStream(stream),
          withSubject(`${prefix}.a`),
          withMaxDeliver(1),
          withDLQ(`${stream.toLowerCase()}_dlq`),
        ),
      ),
    );
    await run.broker.started();
    await conn.jetstream.publish(`${prefix}.a`, "not json");
    await until(async () => (await run.broker.health()).routes.svc?.lastError !== undefined);
    const h = await run.broker.health();
    await run.stop();
    assert.equal(h.routes.svc?.lastError?.code, "ERR_DECODE");
    assert.ok((h.routes.svc?.lastError?.at ?? before) >= before);
    assert.equal(h.routes.svc?.state, "running", "a handler failure does not stop the route");
  });

  it("reports a failed route and a broker that is no longer live", async () => {
    const run = runBroker(conn, (b) =>
      b.register(route("svc", async () => ack(), withStream(unique("NOPE")), withSubject("x.y"))),
    );
    await run.done.catch(() => {});
    const h = await run.broker.health();
    assert.equal(h.routes.svc?.state, "failed");
    assert.equal(h.routes.svc?.lastError?.code, "ERR_STREAM_NOT_FOUND");
    assert.equal(h.state, "failed");
    assert.equal(h.live, false);
    assert.equal(h.ready, false);
  });

  it("is not ready after the connection drops, and counts the reconnect", async () => {
    const own = await startServer();
    try {
      const c = await useConnection(own.url);
      const stream = unique("HEALTH");
      const prefix = await makeStream(c, stream);
      const run = runBroker(c, (b) =>
        b.register(route("svc", async () => ack(), withStream(stream), withSubject(`${prefix}.a`))),
      );
      await run.broker.started();
      await own.kill();
      const down = await run.broker.health();
      assert.equal(down.connection.connected, false);
      assert.equal(down.ready, false);
      assert.match(down.notReady[0] ?? "", /not connected to NATS/);
      await own.restart();
      await until(async () => (await run.broker.health()).connection.reconnects > 0);
      await until(async () => (await run.broker.health()).ready);
      await run.stop();
    } finally {
      await own.stop();
    }
  });

  it("reports a route whose pulls hear no heartbeats while workers are free as stalled", async () => {
    const own = await startServer();
    try {
      const c = await useConnection(own.url);
      const stream = unique("HEALTH");
      const prefix = await makeStream(c, stream);
      const run = runBroker(c, (b) =>
        b.register(
          route(
            "svc",
            async () => ack(),
            withStream(stream),
            withSubject(`${prefix}.a`),
            withIdleHeartbeat("100ms"),
          ),
        ),
      );
      await run.broker.started();
      process.kill(own.pid as number, "SIGSTOP");
      try {
        await until(async () => (await run.broker.health()).routes.svc?.state === "stalled");
      } finally {
        process.kill(own.pid as number, "SIGCONT");
      }
      await until(async () => (await run.broker.health()).routes.svc?.state === "running");
      await run.stop();
    } finally {
      await own.stop();
    }
  });
});
