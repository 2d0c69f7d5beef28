import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ErrService } from "../../src/errors/index.js";
import { createProducer } from "../../src/producer/index.js";
import {
  type Handler,
  route,
  withConcurrency,
  withFanOut,
  withOnError,
  withRequestReply,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { gate, startRoute, until, useCoreFixture } from "./core-support.js";

checkLeaksAfterAll();

/** The ErrService a request settled with (fails the test when it got a reply instead). */
async function serviceError(p: Promise<unknown>): Promise<ErrService> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ErrService, `expected ErrService, got ${String(err)}`);
    return err;
  }
  assert.fail("expected an error reply");
}

describe("core route workers and their waiting messages", async () => {
  const { conn } = await useCoreFixture();
  const producer = createProducer(conn);

  it("a route with concurrency 1 handles a 5,000-message burst in the order it was published", async () => {
    const seen: number[] = [];
    const r = await startRoute(
      conn,
      route(
        "ordered",
        async (m) => {
          seen.push(m.json<number>());
        },
        withSubject("work.ordered"),
        withFanOut(),
        withConcurrency(1),
      ),
    );
    for (let i = 0; i < 5_000; i++) conn.nats.publish("work.ordered", JSON.stringify(i));
    await conn.nats.flush();
    await until(() => seen.length + r.runner.stats().dropped === 5_000);
    assert.deepEqual(
      seen,
      Array.from({ length: 5_000 }, (_, i) => i),
    );
    await r.stop();
  });

  it("a message that waited for a worker carries the time it arrived, not the time its handler started", async () => {
    const started: number[] = [];
    const stamps: number[] = [];
    const r = await startRoute(
      conn,
      route(
        "waited",
        async (m) => {
          started.push(Date.now());
          stamps.push(m.timestamp.getTime());
          await sleep(200);
        },
        withSubject("work.waited"),
        withFanOut(),
        withConcurrency(1),
      ),
    );
    conn.nats.publish("work.waited");
    conn.nats.publish("work.waited");
    await until(() => r.runner.stats().handled === 2);
    const [firstStart, secondStart] = started as [number, number];
    const secondStamp = stamps[1] as number;
    assert.ok(secondStart - firstStart >= 150, "the second message waited for the worker");
    assert.ok(secondStamp <= firstStart + 50, "its timestamp is its arrival, before it waited");
    await r.stop();
  });

  it("a plain function handler that throws before returning a promise answers 500, is reported to onError, and the route keeps serving", async () => {
    const reported: unknown[] = [];
    const handler: Handler = (m) => {
      if (m.json<{ bad: boolean }>().bad) throw new RangeError("sync kaput");
      return Promise.resolve();
    };
    const r = await startRoute(
      conn,
      route(
        "sync-throw",
        handler,
        withSubject("work.sync"),
        withRequestReply(),
        withOnError((err) => void reported.push(err)),
      ),
    );
    const err = await serviceError(producer.request("work.sync", { bad: true }));
    assert.equal(err.serviceCode, 500);
    assert.equal(reported.length, 1);
    assert.ok(reported[0] instanceof RangeError);
    assert.equal(await producer.request("work.sync", { bad: false }), null);
    assert.equal(r.runner.stats().failed, 1);
    await r.stop();
  });

  it("when the grace period ends, requests still waiting for a worker get a 503 like the running one, and all count as abandoned", async () => {
    const hold = gate();
    let entered = 0;
    const r = await startRoute(
      conn,
      route(
        "stuck-queue",
        async () => {
          entered++;
          await hold.promise;
        },
        withSubject("work.stuck"),
        withRequestReply(),
        withConcurrency(1),
      ),
      { shutdownTimeoutMs: 100 },
    );
    const replies = Array.from({ length: 3 }, () =>
      serviceError(producer.request("work.stuck", {}, { timeoutMs: 10_000 })),
    );
    await until(() => r.runner.stats().received === 3);
    await r.stop();
    const codes = (await Promise.all(replies)).map((e) => e.serviceCode);
    assert.deepEqual(codes, [503, 503, 503]);
    assert.equal(entered, 1, "the waiting requests never ran");
    assert.equal(r.runner.stats().abandoned, 3);
    hold.open();
    await until(() => r.runner.stats().inFlight === 0);
    assert.equal(entered, 1, "nothing waiting ran after the grace ended");
  });
});
