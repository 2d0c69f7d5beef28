import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, withServers, withUserPass } from "../../src/conn/index.js";
import { DeadLetterHeader, storeDeadLetter } from "../../src/consumer/index.js";
import { ErrDeadLetterFailed, ErrRouteFailed } from "../../src/errors/index.js";
import {
  buildRouteSpec,
  fixed,
  type JetStreamRouteSpec,
  reject,
  route,
  withBackoff,
  withDLQ,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import {
  ensureStream,
  withDiscard,
  withMaxMsgSize,
  withMaxMsgs,
  withRetention,
  withSubjects,
} from "../../src/stream/index.js";
import { checkLeaksAfterAll, recordingLogger, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  jsStats,
  makeStream,
  publishMany,
  runBroker,
  storedMessages,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

/** A route that rejects every message into `dlq`, counting its handler runs. */
function rejecting(name: string, stream: string, subject: string, dlq: string, calls: number[]) {
  return route(
    name,
    async () => {
      calls.push(1);
      return reject(`${name} refuses`);
    },
    withStream(stream),
    withSubject(subject),
    withDLQ(dlq),
    withBackoff(fixed("100ms")),
  );
}

const FAILED_PUBLISH_LOG = "dead-letter publish failed; message will be redelivered";

describe("Dead letters: identity", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("two routes with their own durables on one stream each store their dead letters of the same messages", async () => {
    const stream = unique("ORDERS");
    const dlqStream = unique("DLQ");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = `${await makeStream(conn, dlqStream)}.dead`;
    const run = runBroker(conn, (b) => {
      b.register(rejecting("billing", stream, subject, dlq, []));
      b.register(rejecting("shipping", stream, subject, dlq, []));
    });
    await run.broker.started();
    await publishMany(conn, subject, 3);
    await until(
      () =>
        jsStats(run.broker, "billing").deadLettered === 3 &&
        jsStats(run.broker, "shipping").deadLettered === 3,
    );
    await run.stop();
    const dead = await storedMessages(conn, dlqStream);
    assert.equal(dead.length, 6);
    const durables = dead.map((m) => m.header.get(DeadLetterHeader.Durable)).sort();
    assert.deepEqual(durables, [
      "billing",
      "billing",
      "billing",
      "shipping",
      "shipping",
      "shipping",
    ]);
  });

  it("the same durable dead-lettering the same message twice stores one dead letter", async () => {
    const stream = unique("ORDERS");
    const dlqStream = unique("DLQ");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = `${await makeStream(conn, dlqStream)}.dead`;
    const spec = buildRouteSpec(
      rejecting("billing", stream, subject, dlq, []),
    ) as JetStreamRouteSpec;
    const ack = await conn.jetstream.publish(subject, "order 1");
    // As a redelivery after a lost term would: the same message, a later delivery.
    const source = (deliveryCount: number) => ({
      subject,
      data: new TextEncoder().encode("order 1"),
      headers: undefined,
      stream,
      seq: ack.seq,
      deliveryCount,
    });
    const deps = { conn, spec, logger: recordingLogger() };
    const first = await storeDeadLetter(source(1), "refused", deps);
    const second = await storeDeadLetter(source(2), "refused", deps);
    assert.deepEqual([first.kind, second.kind], ["stored", "stored"]);
    const dead = await storedMessages(conn, dlqStream);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.header.get(DeadLetterHeader.DeliveryCount), "1");
  });
});

describe("Dead letters: DLQ publish failures", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("a DLQ stream whose max_msg_size is below the message stores the dead letter without its payload", async () => {
    const stream = unique("ORDERS");
    const dlqStream = unique("DLQ");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = `${dlqStream.toLowerCase()}.dead`;
    await ensureStream(conn, dlqStream, withSubjects(dlq), withMaxMsgSize(2048));
    const calls: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await run.broker.started();
    const payload = new Uint8Array(4096).fill(120);
    const { seq } = await conn.jetstream.publish(subject, payload);
    await until(async () => (await storedMessages(conn, dlqStream)).length === 1);
    await until(async () => (await consumerInfo(conn, stream, "billing")).num_ack_pending === 0);
    await run.stop();
    const [dead] = await storedMessages(conn, dlqStream);
    assert.equal(dead?.data.length, 0);
    assert.equal(dead?.header.get(DeadLetterHeader.PayloadTruncated), "4096");
    assert.equal(dead?.header.get(DeadLetterHeader.Stream), stream);
    assert.equal(dead?.header.get(DeadLetterHeader.Sequence), String(seq));
    assert.equal(calls.length, 1, "handled once: terminated, not redelivered");
    assert.equal(jsStats(run.broker, "billing").nakd, 0);
  });

  it("a full DLQ stream that discards new messages fails the route with ErrDeadLetterFailed and keeps the original", async () => {
    const stream = unique("ORDERS");
    const dlqStream = unique("DLQ");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = `${dlqStream.toLowerCase()}.dead`;
    await ensureStream(conn, dlqStream, withSubjects(dlq), withMaxMsgs(1), withDiscard("new"));
    await conn.jetstream.publish(dlq, "already there");
    const calls: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await run.broker.started();
    await conn.jetstream.publish(subject, "order 1");
    const err = await run.done.then(
      () => assert.fail("run resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(err.cause instanceof ErrDeadLetterFailed);
    assert.equal(calls.length, 1, "no retry loop");
    const info = await consumerInfo(conn, stream, "billing");
    assert.equal(info.ack_floor.stream_seq, 0, "the original is kept");
  });

  it("a dead letter too large even without payload and headers fails the route with ErrDeadLetterFailed and keeps the original", async () => {
    const stream = unique("ORDERS");
    const dlqStream = unique("DLQ");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = `${dlqStream.toLowerCase()}.dead`;
    // Smaller than the Jetroute-* trace headers alone.
    await ensureStream(conn, dlqStream, withSubjects(dlq), withMaxMsgSize(64));
    const calls: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await run.broker.started();
    await conn.jetstream.publish(subject, "order 1");
    const err = await run.done.then(
      () => assert.fail("run resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(err.cause instanceof ErrDeadLetterFailed);
    assert.equal(err.cause.stream, stream);
    assert.equal(calls.length, 1);
    assert.equal((await storedMessages(conn, dlqStream)).length, 0);
    // Not terminated: the message is still there, unacked, for a run after the fix.
    const info = await consumerInfo(conn, stream, "billing");
    assert.equal(info.ack_floor.stream_seq, 0);
    assert.equal(info.num_ack_pending, 1);
  });

  it("a work-queue message too large for its DLQ fails the route with ErrDeadLetterFailed instead of losing its payload", async () => {
    const stream = unique("JOBS");
    const dlqStream = unique("DLQ");
    const subject = `${stream.toLowerCase()}.created`;
    await ensureStream(conn, stream, withSubjects(subject), withRetention("workqueue"));
    const dlq = `${dlqStream.toLowerCase()}.dead`;
    await ensureStream(conn, dlqStream, withSubjects(dlq), withMaxMsgSize(2048));
    const calls: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await run.broker.started();
    const { seq } = await conn.jetstream.publish(subject, new Uint8Array(4096).fill(120));
    const err = await run.done.then(
      () => assert.fail("run resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(err.cause instanceof ErrDeadLetterFailed);
    assert.equal((await storedMessages(conn, dlqStream)).length, 0);
    // Not terminated: a work-queue stream would have deleted it.
    const jsm = await conn.jetstreamManager();
    const kept = await jsm.streams.getMessage(stream, { seq });
    assert.equal(kept?.data.length, 4096);
  });

  it("a DLQ stream deleted while running fails the route with ErrDeadLetterFailed; once it is back, a new run dead-letters the message", async () => {
    const stream = unique("ORDERS");
    const dlqStream = unique("DLQ");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = `${await makeStream(conn, dlqStream)}.dead`;
    const calls: number[] = [];
    const first = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await first.broker.started();
    const jsm = await conn.jetstreamManager();
    await jsm.streams.delete(dlqStream);
    await conn.jetstream.publish(subject, "order 1");
    const err = await first.done.then(
      () => assert.fail("run resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(err.cause instanceof ErrDeadLetterFailed);
    assert.equal(err.cause.dlq, dlq);
    assert.equal(
      first.logger.lines.filter((l) => l.msg === FAILED_PUBLISH_LOG).length,
      0,
      "a missing stream is not retried",
    );

    await makeStream(conn, dlqStream);
    const second = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await until(async () => (await storedMessages(conn, dlqStream)).length === 1);
    await until(async () => (await consumerInfo(conn, stream, "billing")).num_ack_pending === 0);
    await second.stop();
    assert.equal(jsStats(second.broker, "billing").deadLettered, 1);
  });
});

describe("Dead letters: a server with a 64 KiB max_payload", { timeout: 30_000 }, async () => {
  const maxPayload = 64 * 1024;
  const server = await useServer({ extraConfig: `max_payload: ${maxPayload}` });
  const conn = await useConnection(server.url);

  it("a message near max_payload is dead-lettered without its payload and terminated, with no retry loop", async () => {
    const stream = unique("ORDERS");
    const dlqStream = unique("DLQ");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = `${await makeStream(conn, dlqStream)}.dead`;
    const calls: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await run.broker.started();
    // Fits alone; no longer fits once the Jetroute-* trace headers are added.
    const size = maxPayload - 100;
    const { seq } = await conn.jetstream.publish(subject, new Uint8Array(size).fill(120));
    await until(async () => (await storedMessages(conn, dlqStream)).length === 1);
    await until(async () => (await consumerInfo(conn, stream, "billing")).num_ack_pending === 0);
    await run.stop();
    const [dead] = await storedMessages(conn, dlqStream);
    assert.equal(dead?.data.length, 0);
    assert.equal(dead?.header.get(DeadLetterHeader.PayloadTruncated), String(size));
    assert.equal(dead?.header.get(DeadLetterHeader.Sequence), String(seq));
    const stats = jsStats(run.broker, "billing");
    assert.equal(stats.deadLettered, 1);
    assert.equal(stats.nakd, 0);
    assert.equal(calls.length, 1);
    assert.equal(run.logger.lines.filter((l) => l.msg === FAILED_PUBLISH_LOG).length, 0);
  });
});

describe("Dead letters: a connection not allowed to publish to the DLQ", {
  timeout: 30_000,
}, async () => {
  const server = await useServer({
    extraConfig: `accounts { APP { jetstream: enabled, users: [
      { user: app, password: app, permissions: { publish: { deny: ["denied.>"] } } }
    ] } }`,
  });
  const conn = await connect(withServers(server.url), withUserPass("app", "app"));
  after(() => conn.close());

  it("fails the route with ErrDeadLetterFailed and keeps the original, instead of retrying forever", async () => {
    const stream = unique("ORDERS");
    const subject = `${await makeStream(conn, stream)}.created`;
    const dlq = "denied.dead";
    await ensureStream(conn, unique("DLQ"), withSubjects(dlq));
    const calls: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(rejecting("billing", stream, subject, dlq, calls)),
    );
    await run.broker.started();
    await conn.jetstream.publish(subject, "order 1");
    const err = await run.done.then(
      () => assert.fail("run resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(err.cause instanceof ErrDeadLetterFailed);
    assert.equal(calls.length, 1);
    const info = await consumerInfo(conn, stream, "billing");
    assert.equal(info.ack_floor.stream_seq, 0);
  });
});
