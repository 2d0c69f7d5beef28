// A handler stopped by the end of the shutdown grace period is interrupted, not failed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withShutdownTimeout } from "../../src/broker/index.js";
import type { JetStreamRouteStats } from "../../src/consumer/index.js";
import type { CoreRouteStats } from "../../src/core/index.js";
import {
  ack,
  type Handler,
  route,
  withDLQ,
  withErrorPolicy,
  withMaxDeliver,
  withOnError,
  withQueueGroup,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { makeStream, runBroker, storedMessages, unique, useConnection } from "./engine-support.js";
import { within } from "./runtime-support.js";

checkLeaksAfterAll();

/** A handler that honours its signal: it waits for the abort and throws the abort reason. */
function honoursSignal(started: () => void): Handler {
  return (_msg, ctx) =>
    new Promise((_, fail) => {
      started();
      ctx.signal.addEventListener("abort", () => fail(ctx.signal.reason), { once: true });
    });
}

describe("shutdown interrupting a handler", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /** A stream, a DLQ stream, one published message; the route's options. */
  async function fixture(maxDeliver: number) {
    const stream = unique("INTR");
    const dlqStream = unique("INTRDLQ");
    const prefix = await makeStream(conn, stream);
    const dlqPrefix = await makeStream(conn, dlqStream);
    await conn.jetstream.publish(`${prefix}.job`, JSON.stringify({ id: 1 }));
    const options = [
      withStream(stream),
      withSubject(`${prefix}.>`),
      withErrorPolicy("terminate"),
      withMaxDeliver(maxDeliver),
      withDLQ(`${dlqPrefix}.dead`),
    ];
    return { dlqStream, options };
  }

  /** Runs `handler` until it started, stops the broker (200 ms grace) and returns its stats. */
  async function runUntilStopped(
    name: string,
    options: Parameters<typeof route>[2][],
    handler: (started: () => void) => Handler,
  ): Promise<JetStreamRouteStats> {
    let started = false;
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            name,
            handler(() => (started = true)),
            ...options,
          ),
        ),
      withShutdownTimeout(200),
    );
    await run.broker.started();
    await within(10_000, () => started);
    await run.stop();
    return run.broker.stats()[name] as JetStreamRouteStats;
  }

  it("with errorPolicy terminate and maxDeliver 1, the interrupted message is not dead-lettered", async () => {
    const { dlqStream, options } = await fixture(1);
    const stats = await runUntilStopped("intr-last", options, honoursSignal);
    assert.deepEqual(await storedMessages(conn, dlqStream), []);
    assert.equal(stats.deadLettered, 0);
    assert.equal(stats.released, 1);
  });

  it("with errorPolicy terminate, the interrupted message is handled again by the next run", async () => {
    const { dlqStream, options } = await fixture(5);
    await runUntilStopped("intr-again", options, honoursSignal);
    let handledAgain = false;
    const second = runBroker(conn, (b) =>
      b.register(
        route(
          "intr-again",
          async () => {
            handledAgain = true;
            return ack();
          },
          ...options,
        ),
      ),
    );
    await second.broker.started();
    // A released message is redelivered at once; 10 s is far below the 30 s ack wait.
    await within(10_000, () => handledAgain);
    await second.stop();
    assert.deepEqual(await storedMessages(conn, dlqStream), []);
  });

  it("a core queue route does not report an interrupted handler as failed", async () => {
    const subject = unique("intr.queue");
    const errors: unknown[] = [];
    let started = false;
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "intr-queue",
            honoursSignal(() => (started = true)),
            withSubject(subject),
            withQueueGroup("workers"),
            withOnError((err) => void errors.push(err)),
          ),
        ),
      withShutdownTimeout(200),
    );
    await run.broker.started();
    conn.nats.publish(subject, "1");
    await within(10_000, () => started);
    await run.stop();
    const stats = run.broker.stats()["intr-queue"] as CoreRouteStats;
    assert.deepEqual(errors, []);
    assert.equal(stats.failed, 0);
  });
});
