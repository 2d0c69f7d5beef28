import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, withServers } from "../../src/conn/index.js";
import {
  ErrConnectionClosed,
  ErrConsumerLost,
  ErrDLQStreamMissing,
  ErrRouteFailed,
  ErrStreamNotFound,
} from "../../src/errors/index.js";
import {
  ack,
  route,
  withDLQ,
  withOnConsumerLost,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  makeStream,
  publishMany,
  routeFailure,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("JetStream engine: fail fast", { timeout: 20_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("rejects run with ErrRouteFailed when a route's stream is missing, stopping the other route", async () => {
    const stream = unique("LIVE");
    const prefix = await makeStream(conn, stream);
    let handled = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "healthy",
          async () => {
            handled++;
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
        ),
        route("orphan", async () => ack(), withStream(unique("MISSING")), withSubject("nowhere.x")),
      ),
    );
    const err = await routeFailure(run.done);
    assert.equal(err.route, "orphan");
    assert.ok(err.cause instanceof ErrStreamNotFound);
    await assert.rejects(run.broker.started(), ErrRouteFailed);
    // The healthy route drained with the broker: nothing it pulls is handled any more.
    await publishMany(conn, `${prefix}.late`, 3);
    await sleep(200);
    assert.equal(handled, 0);
  });

  it("fails at startup with ErrDLQStreamMissing when no stream stores the DLQ subject", async () => {
    const stream = unique("NODLQ");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "dlqless",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.>`),
          withDLQ(`${unique("void")}.dead`),
        ),
      ),
    );
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrDLQStreamMissing);
  });

  it("recreates a deleted consumer and keeps consuming", async () => {
    const stream = unique("LOST");
    const prefix = await makeStream(conn, stream);
    const seen = new Set<number>();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "phoenix",
          async (msg) => {
            seen.add(msg.json<{ i: number }>().i);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 1);
    await until(() => seen.size === 1);
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.delete(stream, "phoenix");
    await until(() => run.logger.lines.some((l) => l.msg === "consumer recreated"));
    await conn.jetstream.publish(`${prefix}.b`, JSON.stringify({ i: 99 }));
    await until(() => seen.has(99));
    await run.stop();
  });

  it("fails the route with ErrConsumerLost when the consumer is deleted and the policy is fail", async () => {
    const stream = unique("FRAGILE");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "fragile",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.>`),
          withOnConsumerLost("fail"),
        ),
      ),
    );
    await run.broker.started();
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.delete(stream, "fragile");
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrConsumerLost);
  });

  it("fails the route with ErrConnectionClosed when its connection is closed under it", async () => {
    const stream = unique("ORPHANED");
    const prefix = await makeStream(conn, stream);
    const own = await connect(withServers(server.url));
    const run = runBroker(own, (b) =>
      b.register(
        route("orphaned", async () => ack(), withStream(stream), withSubject(`${prefix}.>`)),
      ),
    );
    await run.broker.started();
    await own.close();
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrConnectionClosed, `cause: ${String(err.cause)}`);
  });
});
