import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Broker } from "../../src/broker/index.js";
import type { Connection } from "../../src/conn/index.js";
import { connect, withReconnectWait, withServers } from "../../src/conn/index.js";
import { ErrRouteFailed, ErrStreamRecreated } from "../../src/errors/index.js";
import {
  ack,
  type RouteOption,
  route,
  withOnStreamRecreated,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import {
  ensureStream,
  type StreamRetention,
  withRetention,
  withStorage,
  withSubjects,
} from "../../src/stream/index.js";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  gate,
  jsStats,
  makeStream,
  publishMany,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

/**
 * A route on `<prefix>.>` that acks every message and counts its handler runs per
 * `<subject>#<i>` (stream sequences restart on a new stream, so they cannot be the key).
 */
function countingRoute(
  name: string,
  stream: string,
  prefix: string,
  calls: Map<string, number>,
  ...options: RouteOption[]
) {
  return route(
    name,
    async (msg) => {
      const key = `${msg.subject}#${msg.json<{ i: number }>().i}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
      if (msg.subject.endsWith(".hold")) await holding.promise;
      return ack();
    },
    withStream(stream),
    withSubject(`${prefix}.>`),
    ...options,
  );
}

/** Keys of `calls` for `subject`, and whether each ran exactly once. */
function ranOnce(calls: Map<string, number>, subject: string): { count: number; once: boolean } {
  const mine = [...calls.entries()].filter(([k]) => k.startsWith(`${subject}#`));
  return { count: mine.length, once: mine.every(([, n]) => n === 1) };
}

/** Messages on `<prefix>.hold` wait for this gate; each test that uses it opens a new one. */
let holding = gate();

/**
 * Deletes `stream` and creates it again while the route cannot notice: its one worker runs a
 * held message and a second waits in its buffer (concurrency 1 + prefetch 1), so no pull
 * request is open for the server to answer "consumer deleted" on (with one open, the engine
 * looks at once, finds no stream and fails with ErrStreamNotFound: loud, not this silent case).
 * Then publishes 20 messages to the new stream, lets the held ones go, and the engine finds its
 * consumer gone a few seconds later (its next pull hears nothing).
 */
async function recreateUnnoticed(
  conn: Connection,
  broker: Broker,
  routeName: string,
  stream: string,
  prefix: string,
  create: () => Promise<unknown>,
): Promise<void> {
  holding = gate();
  await publishMany(conn, `${prefix}.hold`, 2);
  await until(() => jsStats(broker, routeName).held === 2);
  await until(async () => (await consumerInfo(conn, stream, routeName)).num_waiting === 0);
  const jsm = await conn.jetstreamManager();
  await jsm.streams.delete(stream);
  await create();
  await publishMany(conn, `${prefix}.new`, 20);
  holding.open();
}

async function consumerExists(conn: Connection, stream: string, durable: string) {
  return consumerInfo(conn, stream, durable).then(
    () => true,
    () => false,
  );
}

describe("JetStream engine: lost consumers and streams", { timeout: 45_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  for (const retention of ["limits", "workqueue", "interest"] as StreamRetention[]) {
    it(`handles every new message after its consumer is deleted on a ${retention} stream`, async () => {
      const stream = unique(`RET_${retention.toUpperCase()}`);
      const prefix = stream.toLowerCase();
      await ensureStream(conn, stream, withSubjects(`${prefix}.>`), withRetention(retention));
      const calls = new Map<string, number>();
      const run = runBroker(conn, (b) =>
        b.register(countingRoute("keeper", stream, prefix, calls)),
      );
      await run.broker.started();
      await publishMany(conn, `${prefix}.before`, 5);
      // The floor must be above 0, or the consumer is recreated from the start as before.
      await until(() => jsStats(run.broker, "keeper").ackFloor === 5);
      const jsm = await conn.jetstreamManager();
      await jsm.consumers.delete(stream, "keeper");
      // An interest stream drops what is published while no consumer exists.
      await until(() => consumerExists(conn, stream, "keeper"));
      await publishMany(conn, `${prefix}.after`, 10);
      await until(() => ranOnce(calls, `${prefix}.after`).count === 10);
      await run.stop();
      assert.deepEqual(ranOnce(calls, `${prefix}.after`), { count: 10, once: true });
      assert.deepEqual(ranOnce(calls, `${prefix}.before`), { count: 5, once: true });
      assert.equal(jsStats(run.broker, "keeper").consumerRecreated, 1);
    });
  }

  it("consumes all 20 new messages of a stream deleted and created again under the same name", async () => {
    const stream = unique("REBORN");
    const prefix = await makeStream(conn, stream);
    const calls = new Map<string, number>();
    const run = runBroker(conn, (b) => b.register(countingRoute("reborn", stream, prefix, calls)));
    await run.broker.started();
    await publishMany(conn, `${prefix}.old`, 20);
    await until(() => jsStats(run.broker, "reborn").ackFloor === 20);
    await recreateUnnoticed(conn, run.broker, "reborn", stream, prefix, () =>
      makeStream(conn, stream),
    );
    await until(() => ranOnce(calls, `${prefix}.new`).count === 20);
    await run.stop();
    assert.deepEqual(ranOnce(calls, `${prefix}.new`), { count: 20, once: true });
    const stats = jsStats(run.broker, "reborn");
    assert.equal(stats.streamsRecreated, 1);
    assert.equal(stats.replaysSkipped, 0);
    const warned = run.logger.lines.find((l) => l.obj.previousCreated !== undefined);
    assert.equal(warned?.level, "warn");
  });

  it("fails the route with ErrStreamRecreated when its stream is created again and the policy is fail", async () => {
    const stream = unique("REBORN_FAIL");
    const prefix = await makeStream(conn, stream);
    const calls = new Map<string, number>();
    const run = runBroker(conn, (b) =>
      b.register(countingRoute("strict", stream, prefix, calls, withOnStreamRecreated("fail"))),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.old`, 5);
    await until(() => jsStats(run.broker, "strict").ackFloor === 5);
    await recreateUnnoticed(conn, run.broker, "strict", stream, prefix, () =>
      makeStream(conn, stream),
    );
    const err = await run.done.then(
      () => assert.fail("expected run() to reject"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(err.cause instanceof ErrStreamRecreated);
    assert.equal(err.cause.stream, stream);
    assert.notEqual(err.cause.created, err.cause.previousCreated);
    assert.equal(ranOnce(calls, `${prefix}.new`).count, 0);
  });

  it("does not count a consumer as recreated when another instance recreated it first", async () => {
    const stream = unique("INTACT");
    const prefix = await makeStream(conn, stream);
    const calls = new Map<string, number>();
    const run = runBroker(conn, (b) => b.register(countingRoute("intact", stream, prefix, calls)));
    await run.broker.started();
    await publishMany(conn, `${prefix}.before`, 5);
    await until(() => jsStats(run.broker, "intact").ackFloor === 5);
    const jsm = await conn.jetstreamManager();
    const { config } = await consumerInfo(conn, stream, "intact");
    const count = (msg: string) => run.logger.lines.filter((l) => l.msg === msg).length;
    // Deleted and added again at once, as another instance would: this engine, a few round
    // trips behind, finds the consumer there when it comes to recreate it. It is a race the
    // engine may win (then it recreates the consumer itself, counted): try until it loses.
    for (let attempt = 0; attempt < 10 && count("consumer found intact") === 0; attempt++) {
      const seen = count("consumer found intact") + count("consumer recreated");
      await jsm.consumers.delete(stream, "intact");
      await jsm.consumers.add(stream, config).catch(() => {});
      await until(() => count("consumer found intact") + count("consumer recreated") > seen);
    }
    assert.ok(count("consumer found intact") > 0, "the engine never found the consumer intact");
    await publishMany(conn, `${prefix}.after`, 5);
    await until(() => ranOnce(calls, `${prefix}.after`).count === 5);
    await run.stop();
    // Counted exactly when this engine created it, never when it found it intact.
    assert.equal(jsStats(run.broker, "intact").consumerRecreated, count("consumer recreated"));
  });
});

describe("JetStream engine: a memory stream lost on a server restart", {
  timeout: 45_000,
}, async () => {
  const server = await startServer();
  // The route's connection tries the restarted server only 8 s after it last dialed, so the
  // stream is provisioned again (as a service starting elsewhere would) before the engine
  // looks; otherwise it finds no stream and fails loudly with ErrStreamNotFound.
  const conn = await connect(withServers(server.url), withReconnectWait("8s"));
  after(async () => {
    await conn.close();
    await server.stop();
  });

  async function restartAndProvision(stream: string, prefix: string): Promise<void> {
    await server.restart();
    const fresh = await connect(withServers(server.url));
    try {
      await ensureStream(fresh, stream, withSubjects(`${prefix}.>`), withStorage("memory"));
      await publishMany(fresh, `${prefix}.new`, 20);
    } finally {
      await fresh.close();
    }
  }

  it("consumes all 20 new messages of a memory stream provisioned again after a restart", async () => {
    const stream = unique("VOLATILE");
    const prefix = stream.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.>`), withStorage("memory"));
    const calls = new Map<string, number>();
    const run = runBroker(conn, (b) =>
      b.register(countingRoute("volatile", stream, prefix, calls)),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.old`, 20);
    await until(() => jsStats(run.broker, "volatile").ackFloor === 20);
    await restartAndProvision(stream, prefix);
    await until(() => ranOnce(calls, `${prefix}.new`).count === 20);
    await run.stop();
    assert.deepEqual(ranOnce(calls, `${prefix}.new`), { count: 20, once: true });
    assert.equal(jsStats(run.broker, "volatile").streamsRecreated, 1);
  });

  it("fails the route with ErrStreamRecreated when a memory stream is provisioned again after a restart and the policy is fail", async () => {
    const stream = unique("VOLATILE_FAIL");
    const prefix = stream.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.>`), withStorage("memory"));
    const calls = new Map<string, number>();
    const run = runBroker(conn, (b) =>
      b.register(
        countingRoute("volatile_strict", stream, prefix, calls, withOnStreamRecreated("fail")),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.old`, 5);
    await until(() => jsStats(run.broker, "volatile_strict").ackFloor === 5);
    await restartAndProvision(stream, prefix);
    const err = await run.done.then(
      () => assert.fail("expected run() to reject"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(err.cause instanceof ErrStreamRecreated);
  });
});
