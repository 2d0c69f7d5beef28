import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AckPolicy } from "@nats-io/jetstream";
import type { Broker } from "../../src/broker/index.js";
import { ErrorCode, isJetrouteError } from "../../src/errors/index.js";
import {
  route,
  withAckWait,
  withConcurrency,
  withIdleHeartbeat,
  withPrefetch,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  jsStats,
  makeStream,
  publishMany,
  routeFailure,
  runBroker,
  swapConsumer,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

/** Samples `stats().held` every 20 ms until `stop` resolves; returns the peak. */
async function peakHeld(broker: Broker, name: string, stop: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  while (!done) {
    peak = Math.max(peak, jsStats(broker, name).held);
    await sleep(20);
  }
  return peak;
}

describe("JetStream engine: the engine owns the pull", { timeout: 90_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /**
   * Handlers of 3x the ack wait and 10x the pull heartbeat: nats.js's consume() queued a full
   * pull per missed-heartbeat tick while every worker was busy and sent them all at once.
   */
  async function longHandlers(concurrency: number, prefetch: number, backlog: number) {
    const stream = unique("LONG");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.job`, backlog);
    const seen = new Map<number, number>();
    const name = unique("long");
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          name,
          async (m) => {
            const { i } = m.json<{ i: number }>();
            seen.set(i, (seen.get(i) ?? 0) + 1);
            await sleep(6_000);
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          withConcurrency(concurrency),
          withPrefetch(prefetch),
          withAckWait("2s"),
          withIdleHeartbeat("600ms"),
        ),
      ),
    );
    const allHandled = until(() => jsStats(run.broker, name).acked >= backlog);
    const peak = await peakHeld(run.broker, name, allHandled);
    const stats = jsStats(run.broker, name);
    await run.stop();
    return { peak, seen, stats };
  }

  it("holds at most concurrency + prefetch with handlers longer than the ack wait", async () => {
    const { peak, seen, stats } = await longHandlers(25, 5, 50);
    assert.ok(peak <= 30, `held ${peak} > 30`);
    assert.equal(seen.size, 50);
    assert.deepEqual(
      [...seen.values()].filter((n) => n !== 1),
      [],
      "a message ran twice",
    );
    assert.equal(stats.received, 50, "every message is received once: none expired in the buffer");
  });

  it("holds at most 2 at concurrency 1 and prefetch 1 with handlers longer than the ack wait", async () => {
    const { peak, seen, stats } = await longHandlers(1, 1, 3);
    assert.ok(peak <= 2, `held ${peak} > 2`);
    assert.equal(seen.size, 3);
    assert.equal(stats.received, 3, "every message is received once");
  });

  it("sizes its pulls within the durable's max_batch and max_expires", async () => {
    const stream = unique("LIMITS");
    const prefix = await makeStream(conn, stream);
    const name = unique("limited");
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${prefix}.>`,
      max_batch: 2,
      max_expires: 2_000_000_000,
    });
    await publishMany(conn, `${prefix}.job`, 20);
    let handled = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          name,
          async () => {
            handled++;
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          withConcurrency(8),
          withPrefetch(8),
        ),
      ),
    );
    await until(() => handled === 20);
    await run.stop();
    assert.equal(handled, 20);
  });

  it("fails the route when its durable is replaced by a push consumer while it runs", async () => {
    const stream = unique("PUSH");
    const prefix = await makeStream(conn, stream);
    const name = unique("pushed");
    const run = runBroker(conn, (b) =>
      b.register(route(name, async () => {}, withStream(stream), withSubject(`${prefix}.>`))),
    );
    await run.broker.started();
    await swapConsumer(conn, stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${prefix}.>`,
      deliver_subject: `_push.${name}`,
    });
    const err = await routeFailure(run.done);
    assert.ok(
      isJetrouteError(err.cause, ErrorCode.PullRejected) ||
        isJetrouteError(err.cause, ErrorCode.ConsumerConfigConflict),
      `expected ErrPullRejected or ErrConsumerConfigConflict, got ${String(err.cause)}`,
    );
  });
});
