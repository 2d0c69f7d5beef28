import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headers } from "@nats-io/nats-core";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import { ErrDecode } from "../../src/errors/index.js";
import {
  ack,
  fixed,
  reject,
  retry,
  route,
  withBackoff,
  withConcurrency,
  withDLQ,
  withErrorPolicy,
  withMaxDeliver,
  withOnError,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  makeStream,
  publishMany,
  runBroker,
  storedMessages,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("JetStream engine: retries and dead letters", { timeout: 20_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /** A work stream plus a DLQ stream; returns the subjects to use. */
  async function streams(): Promise<{
    stream: string;
    subject: string;
    dlqStream: string;
    dlq: string;
  }> {
    const stream = unique("WORK");
    const dlqStream = unique("DLQ");
    const prefix = await makeStream(conn, stream);
    const dlqPrefix = await makeStream(conn, dlqStream);
    return { stream, subject: `${prefix}.in`, dlqStream, dlq: `${dlqPrefix}.dead` };
  }

  it("redelivers a retried message no sooner than the route's backoff", async () => {
    const { stream, subject } = await streams();
    const at: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "backoff",
          async () => {
            at.push(performance.now());
            return at.length === 1 ? retry() : ack();
          },
          withStream(stream),
          withSubject(subject),
          withBackoff(fixed("300ms")),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, subject, 1);
    await until(() => at.length === 2);
    await run.stop();
    const [first = 0, second = 0] = at;
    assert.ok(second - first >= 300, `redelivered after ${second - first} ms`);
  });

  it("uses retry({ delay }) instead of the backoff when given", async () => {
    const { stream, subject } = await streams();
    const at: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "explicit",
          async () => {
            at.push(performance.now());
            return at.length === 1 ? retry({ delay: "400ms" }) : ack();
          },
          withStream(stream),
          withSubject(subject),
          withBackoff(fixed("100ms")),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, subject, 1);
    await until(() => at.length === 2);
    await run.stop();
    const [first = 0, second = 0] = at;
    assert.ok(second - first >= 400, `redelivered after ${second - first} ms`);
  });

  it("dead-letters a poison message after exactly maxDeliver deliveries while others keep flowing", async () => {
    const { stream, subject, dlqStream, dlq } = await streams();
    let poisonDeliveries = 0;
    const good = new Set<number>();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "poisoned",
          async (msg) => {
            if (msg.header("X-Kind") === "poison") {
              poisonDeliveries++;
              throw new Error("boom");
            }
            good.add(msg.json<{ i: number }>().i);
            return ack();
          },
          withStream(stream),
          withSubject(subject),
          withConcurrency(2),
          withMaxDeliver(3),
          withBackoff(fixed("100ms")),
          withDLQ(dlq),
        ),
      ),
    );
    await run.broker.started();
    const h = headers();
    h.set("X-Kind", "poison");
    const poisonAck = await conn.jetstream.publish(subject, '{"poison":true}', { headers: h });
    await publishMany(conn, subject, 20);
    await until(
      async () => (await storedMessages(conn, dlqStream)).length === 1 && good.size === 20,
    );
    await until(async () => (await consumerInfo(conn, stream, "poisoned")).num_ack_pending === 0);
    await run.stop();

    assert.equal(poisonDeliveries, 3);
    const [dead] = await storedMessages(conn, dlqStream);
    assert.ok(dead);
    assert.equal(dead.subject, dlq);
    assert.equal(dead.string(), '{"poison":true}');
    const hdr = (k: string) => dead.header.get(k);
    assert.equal(hdr("X-Kind"), "poison");
    assert.equal(hdr(DeadLetterHeader.OriginalSubject), subject);
    assert.equal(hdr(DeadLetterHeader.Stream), stream);
    assert.equal(hdr(DeadLetterHeader.Sequence), String(poisonAck.seq));
    assert.equal(hdr(DeadLetterHeader.DeliveryCount), "3");
    assert.equal(hdr(DeadLetterHeader.Route), "poisoned");
    assert.equal(hdr(DeadLetterHeader.Durable), "poisoned");
    assert.notEqual(hdr(DeadLetterHeader.Error), "");
    assert.ok(!Number.isNaN(Date.parse(hdr(DeadLetterHeader.Time))));
    assert.equal(hdr("Nats-Msg-Id"), `${stream}:${poisonAck.seq}:poisoned`);
  });

  it("dead-letters a rejected message on its first delivery", async () => {
    const { stream, subject, dlqStream, dlq } = await streams();
    let calls = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "rejecter",
          async () => {
            calls++;
            return reject("invalid order");
          },
          withStream(stream),
          withSubject(subject),
          withDLQ(dlq),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, subject, 1);
    await until(async () => (await storedMessages(conn, dlqStream)).length === 1);
    await run.stop();
    const [dead] = await storedMessages(conn, dlqStream);
    assert.equal(calls, 1);
    assert.equal(dead?.header.get(DeadLetterHeader.DeliveryCount), "1");
    assert.equal(dead?.header.get(DeadLetterHeader.Error), "invalid order");
  });

  it("frees the worker while a dead letter is stored: the next handler runs before the DLQ acks", async () => {
    const { stream, subject, dlqStream, dlq } = await streams();
    const total = 20;
    await publishMany(conn, subject, total);
    let calls = 0;
    let peakInFlight = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "poisoned",
          async () => {
            calls++;
            // Read synchronously as the handler starts: a previous message whose dead letter
            // is still awaiting the DLQ stream's ack is counted in flight beside this one.
            const s = b.stats().poisoned;
            peakInFlight = Math.max(peakInFlight, s?.inFlight ?? 0);
            return reject("poison");
          },
          withStream(stream),
          withSubject(subject),
          withConcurrency(1),
          withDLQ(dlq),
        ),
      ),
    );
    await until(async () => (await storedMessages(conn, dlqStream)).length === total);
    await run.stop();
    assert.equal(calls, total);
    assert.equal(peakInFlight, 2, "one handler plus one dead letter in flight, never more");
  });

  it("dead-letters a retry on the final delivery instead of stranding it", async () => {
    const { stream, subject, dlqStream, dlq } = await streams();
    let calls = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "retrier",
          async () => {
            calls++;
            return retry();
          },
          withStream(stream),
          withSubject(subject),
          withMaxDeliver(2),
          withBackoff(fixed("50ms")),
          withDLQ(dlq),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, subject, 1);
    await until(async () => (await storedMessages(conn, dlqStream)).length === 1);
    await until(async () => (await consumerInfo(conn, stream, "retrier")).num_ack_pending === 0);
    await run.stop();
    assert.equal(calls, 2);
  });

  it("dead-letters a thrown error at once under the terminate policy, after telling onError", async () => {
    const { stream, subject, dlqStream, dlq } = await streams();
    const errors: unknown[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "strict",
          async (msg) => msg.json(),
          withStream(stream),
          withSubject(subject),
          withErrorPolicy("terminate"),
          withOnError((err) => void errors.push(err)),
          withDLQ(dlq),
        ),
      ),
    );
    await run.broker.started();
    await conn.jetstream.publish(subject, "not json");
    await until(async () => (await storedMessages(conn, dlqStream)).length === 1);
    await run.stop();
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ErrDecode);
  });

  it("terminates and logs a failed message when the route has no DLQ", async () => {
    const { stream, subject } = await streams();
    let calls = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "nodlq",
          async () => {
            calls++;
            return reject("nope");
          },
          withStream(stream),
          withSubject(subject),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, subject, 1);
    await until(async () => {
      const info = await consumerInfo(conn, stream, "nodlq");
      return calls === 1 && info.num_ack_pending === 0 && info.num_pending === 0;
    });
    await run.stop();
    const line = run.logger.lines.find((l) => l.msg === "message terminated (route has no DLQ)");
    assert.equal(line?.level, "error");
    assert.equal(line?.obj.reason, "nope");
  });
});
