import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DeliverPolicy } from "@nats-io/jetstream";
import { connect, withReconnectWait, withServers } from "../../src/conn/index.js";
import {
  ack,
  retry,
  route,
  withAckWait,
  withConcurrency,
  withPrefetch,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  jsStats,
  makeStream,
  publishMany,
  runBroker,
  swapConsumer,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

/** A route on `<prefix>.>` that acks every message and counts its handler runs per stream sequence. */
function countingRoute(name: string, stream: string, prefix: string, calls: Map<number, number>) {
  return route(
    name,
    async (msg) => {
      const seq = msg.streamSequence ?? -1;
      calls.set(seq, (calls.get(seq) ?? 0) + 1);
      return ack();
    },
    withStream(stream),
    withSubject(`${prefix}.>`),
  );
}

describe("JetStream engine: resilience", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("keeps a handler running three times the ack wait without a redelivery, and acks it once", async () => {
    const stream = unique("LONG");
    const prefix = await makeStream(conn, stream);
    const deliveries: number[] = [];
    let finished = false;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "long",
          async (msg) => {
            deliveries.push(msg.deliveryCount);
            await sleep(3_000);
            finished = true;
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          // Two workers: a redelivery would start at once instead of waiting behind the first.
          withConcurrency(2),
          withAckWait("1s"),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.slow`, 1);
    await until(() => finished);
    await until(async () => (await consumerInfo(conn, stream, "long")).num_ack_pending === 0);
    const info = await consumerInfo(conn, stream, "long");
    await run.stop();
    assert.deepEqual(deliveries, [1]);
    assert.equal(info.num_redelivered, 0);
    assert.equal(jsStats(run.broker, "long").acked, 1);
  });

  it("recreates a deleted consumer from its last ack floor, without processing acked messages again", async () => {
    const stream = unique("FLOOR");
    const prefix = await makeStream(conn, stream);
    const calls = new Map<number, number>();
    const run = runBroker(conn, (b) => b.register(countingRoute("floored", stream, prefix, calls)));
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 20);
    // The engine reads the ack floor every couple of seconds while it settles messages.
    await until(() => jsStats(run.broker, "floored").ackFloor === 20);
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.delete(stream, "floored");
    await until(() => run.logger.lines.some((l) => l.msg === "consumer recreated"));
    const info = await consumerInfo(conn, stream, "floored");
    await publishMany(conn, `${prefix}.b`, 5);
    await until(() => calls.size === 25);
    await run.stop();
    assert.equal(info.config.deliver_policy, "by_start_sequence");
    assert.equal(info.config.opt_start_seq, 21);
    assert.deepEqual(
      [...calls.values()].filter((n) => n !== 1),
      [],
    );
    const warn = run.logger.lines.find((l) => l.msg === "consumer lost; recreating it");
    assert.equal(warn?.level, "warn");
  });

  it("never runs a handler again for a message at or below the ack floor when the server sends it again", async () => {
    const stream = unique("REPLAY");
    const prefix = await makeStream(conn, stream);
    const calls = new Map<number, number>();
    const run = runBroker(conn, (b) =>
      b.register(countingRoute("replayed", stream, prefix, calls)),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 20);
    await until(() => jsStats(run.broker, "replayed").ackFloor === 20);
    // Swap the durable for one that starts from the beginning before the engine can recreate
    // it: the server now sends 1..20 again, all of them at or below the floor the engine knows.
    const { config } = await consumerInfo(conn, stream, "replayed");
    await swapConsumer(conn, stream, { ...config, deliver_policy: DeliverPolicy.All });
    await until(() => jsStats(run.broker, "replayed").replaysSkipped === 20);
    await until(async () => (await consumerInfo(conn, stream, "replayed")).num_ack_pending === 0);
    await run.stop();
    assert.deepEqual(
      [...calls.values()].filter((n) => n !== 1),
      [],
    );
  });

  it("redelivers a message waiting out a retry delay when its consumer is deleted, and skips the acked ones replayed with it", async () => {
    const stream = unique("PINNED");
    const prefix = await makeStream(conn, stream);
    const calls = new Map<number, number>();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "pinned",
          async (msg) => {
            const seq = msg.streamSequence ?? -1;
            const first = !calls.has(seq);
            calls.set(seq, (calls.get(seq) ?? 0) + 1);
            // The first message waits a minute after its first run, pinning the ack floor at 0
            // while the others are acked above it.
            return seq === 1 && first ? retry({ delay: "60s" }) : ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 10);
    await until(() => calls.size === 10 && jsStats(run.broker, "pinned").acked === 9);
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.delete(stream, "pinned");
    // Recreated from floor 0, the consumer replays 1..10: 1 runs again (never acked), 2..10
    // are acked without their handler.
    await until(() => calls.get(1) === 2);
    await until(() => jsStats(run.broker, "pinned").replaysSkipped === 9);
    await until(async () => (await consumerInfo(conn, stream, "pinned")).num_ack_pending === 0);
    await run.stop();
    assert.deepEqual(
      [...calls.entries()].filter(([seq, n]) => n !== (seq === 1 ? 2 : 1)),
      [],
    );
  });

  it("after an abort with 1k messages in flight, a restarted broker processes every other message and none that was acked", async () => {
    const stream = unique("SIGTERM");
    const prefix = await makeStream(conn, stream);
    const total = 1_000;
    const options = [
      withStream(stream),
      withSubject(`${prefix}.>`),
      withConcurrency(32),
      withPrefetch(64),
    ];
    const ackedFirst = new Set<number>();
    const one = runBroker(conn, (b) =>
      b.register(
        route(
          "worker",
          async (msg) => {
            await sleep(5);
            // The engine acks every handler that finishes, within the grace period too.
            ackedFirst.add(msg.streamSequence ?? -1);
            return ack();
          },
          ...options,
        ),
      ),
    );
    await one.broker.started();
    await publishMany(conn, `${prefix}.job`, total);
    // Abort as soon as the first wave finished: about 970 messages are still outstanding
    // (running, buffered, on the wire or not yet pulled).
    await until(() => ackedFirst.size >= 32);
    await one.stop();
    assert.ok(ackedFirst.size < total, "the first run must stop with messages outstanding");

    // A new process would have a new connection.
    const conn2 = await useConnection(server.url);
    const seenSecond = new Map<number, number>();
    const two = runBroker(conn2, (b) =>
      b.register(
        route(
          "worker",
          async (msg) => {
            const seq = msg.streamSequence ?? -1;
            seenSecond.set(seq, (seenSecond.get(seq) ?? 0) + 1);
            return ack();
          },
          ...options,
        ),
      ),
    );
    await two.broker.started();
    // No ack-wait timeout is needed for this: released messages come back at once.
    await until(() => ackedFirst.size + seenSecond.size >= total);
    await until(async () => {
      const info = await consumerInfo(conn2, stream, "worker");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    await two.stop();
    const union = new Set([...ackedFirst, ...seenSecond.keys()]);
    assert.equal(union.size, total);
    assert.deepEqual(
      [...seenSecond.keys()].filter((seq) => ackedFirst.has(seq)),
      [],
    );
    assert.deepEqual(
      [...seenSecond.entries()].filter(([, n]) => n !== 1),
      [],
    );
  });
});

describe("JetStream engine: server restart", { timeout: 30_000 }, async () => {
  const server = await startServer();
  const conn = await connect(withServers(server.url), withReconnectWait("100ms"));
  after(async () => {
    await conn.close();
    await server.stop();
  });

  it("keeps running through a server restart, reconnects, and loses no message", async () => {
    const stream = unique("RESTART");
    const prefix = await makeStream(conn, stream);
    const seen = new Map<number, number>();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "survivor",
          async (msg) => {
            await sleep(20);
            const i = msg.json<{ i: number }>().i;
            seen.set(i, (seen.get(i) ?? 0) + 1);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          withConcurrency(2),
          withAckWait("2s"),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.before`, 20);
    await until(() => seen.size >= 3);
    // Handlers are mid-flight: their acks are lost with the connection and the messages
    // redeliver after ack wait.
    await server.restart();
    let published = 0;
    while (published < 20) {
      try {
        await conn.jetstream.publish(`${prefix}.after`, JSON.stringify({ i: 100 + published }));
        published++;
      } catch {
        await sleep(100);
      }
    }
    await until(() => seen.size === 40);
    let failed = false;
    run.done.catch(() => {
      failed = true;
    });
    await sleep(0);
    assert.equal(failed, false);
    await run.stop();
  });
});
