// The envelope on a real server: published with msgId = event id (stored once per id), read by
// `enveloped()` with every field, and malformed envelopes dead-lettered at their first delivery.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import type { Connection } from "../../src/conn/types.js";
import { listDeadLetters } from "../../src/dlq/index.js";
import {
  type Envelope,
  EnvelopeHeader,
  envelope,
  enveloped,
  publishEnvelope,
  readEnvelope,
} from "../../src/envelope/index.js";
import { createProducer } from "../../src/producer/index.js";
import type { Handler, Message } from "../../src/router/index.js";
import { route, withDLQ, withStream, withSubject } from "../../src/router/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  jsStats,
  makeStream,
  runBroker,
  storedMessages,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

const Order = z.object({ id: z.string(), amount: z.number().positive() });

async function setup(conn: Connection, handler: Handler) {
  const stream = unique("EVT");
  const prefix = await makeStream(conn, stream);
  const dlqStream = unique("EVTDLQ");
  const dlq = `${dlqStream.toLowerCase()}.dead`;
  await ensureStream(conn, dlqStream, withSubjects(dlq));
  const subject = `${prefix}.order.created`;
  const run = runBroker(conn, (b) =>
    b.register(route("billing", handler, withStream(stream), withSubject(subject), withDLQ(dlq))),
  );
  await run.broker.started();
  return { stream, dlqStream, subject, run };
}

describe("Envelopes on a JetStream route", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const producer = createProducer(conn);

  it("a published envelope reaches the handler with every field, its payload typed and validated", async () => {
    const seen: { event: Envelope<z.infer<typeof Order>>; msg: Message }[] = [];
    const { subject, run } = await setup(
      conn,
      enveloped(Order, async (event, msg) => {
        seen.push({ event, msg });
      }),
    );
    const sent = envelope({
      type: "order.created",
      producer: "orders",
      resource: { type: "order", id: 42 },
      occurredAt: new Date("2026-12-01T09:30:00Z"),
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      schemaVersion: 2,
      payload: { id: "o-42", amount: 12.5 },
    });
    const ack = await publishEnvelope(producer, subject, sent);
    assert.equal(ack.duplicate, false);
    await until(() => seen.length === 1);
    await run.stop();
    const [{ event, msg }] = seen as [(typeof seen)[number]];
    assert.deepEqual(event, {
      eventId: sent.eventId,
      eventType: "order.created",
      schemaVersion: 2,
      producer: "orders",
      occurredAt: "2026-12-01T09:30:00.000Z",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      resource: { type: "order", id: "42" },
      payload: { id: "o-42", amount: 12.5 },
    });
    assert.equal(msg.header("Nats-Msg-Id"), sent.eventId);
    assert.equal(msg.header(EnvelopeHeader.EventId), sent.eventId);
    // On the wire: snake_case fields.
    const wire = JSON.parse(msg.string()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(wire), [
      "event_id",
      "event_type",
      "schema_version",
      "producer",
      "occurred_at",
      "trace_id",
      "resource_type",
      "resource_id",
      "payload",
    ]);
    assert.deepEqual(readEnvelope(msg), event);
  });

  it("the same envelope published twice is stored once (msgId = event id) and handled once", async () => {
    const handled: string[] = [];
    const { stream, subject, run } = await setup(
      conn,
      enveloped(async (event) => {
        handled.push(event.eventId);
      }),
    );
    const event = envelope({ type: "order.created", producer: "orders", payload: { n: 1 } });
    const first = await publishEnvelope(producer, subject, event);
    const second = await publishEnvelope(producer, subject, event);
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal(second.seq, first.seq);
    // A different event right after: the handler's count is settled once it is seen.
    const other = envelope({ type: "order.created", producer: "orders", payload: { n: 2 } });
    await publishEnvelope(producer, subject, other);
    await until(() => handled.length === 2);
    await run.stop();
    assert.deepEqual(handled, [event.eventId, other.eventId]);
    assert.equal((await storedMessages(conn, stream)).length, 2);
  });

  it("a malformed envelope is dead-lettered at its first delivery, with the issues by wire name", async () => {
    let calls = 0;
    const { dlqStream, subject, run } = await setup(
      conn,
      enveloped(async () => {
        calls++;
      }),
    );
    await conn.jetstream.publish(
      subject,
      JSON.stringify({
        event_type: "order.created",
        schema_version: "1",
        producer: "orders",
        occurred_at: "yesterday",
        payload: {},
      }),
    );
    await conn.jetstream.publish(subject, "not json at all");
    await until(() => jsStats(run.broker, "billing").deadLettered === 2);
    await run.stop();
    assert.equal(calls, 0);
    const [missing, garbage] = await listDeadLetters(conn, dlqStream);
    assert.equal(missing?.deliveryCount, 1);
    assert.match(missing?.error ?? "", /^malformed envelope: event_id: /);
    assert.deepEqual(
      (missing?.schemaIssues ?? []).map((i) => i.path),
      [["event_id"], ["schema_version"], ["occurred_at"]],
    );
    assert.equal(garbage?.deliveryCount, 1);
    assert.match(garbage?.schemaIssues?.[0]?.message ?? "", /^not valid JSON/);
  });

  it("an envelope whose payload fails the route's schema is dead-lettered at once, issue paths from the envelope's root", async () => {
    let calls = 0;
    const { dlqStream, subject, run } = await setup(
      conn,
      enveloped(Order, async () => {
        calls++;
      }),
    );
    await publishEnvelope(
      producer,
      subject,
      envelope({ type: "order.created", producer: "orders", payload: { id: "o-1", amount: -3 } }),
    );
    await until(() => jsStats(run.broker, "billing").deadLettered === 1);
    await run.stop();
    assert.equal(calls, 0);
    const [letter] = await listDeadLetters(conn, dlqStream);
    assert.equal(letter?.deliveryCount, 1);
    assert.match(letter?.error ?? "", /^envelope payload failed its schema: payload\.amount: /);
    assert.deepEqual(
      (letter?.schemaIssues ?? []).map((i) => i.path),
      [["payload", "amount"]],
    );
  });
});
