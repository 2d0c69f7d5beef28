// Standard Schema validation on real routes: `validated(schema, handler)` with zod, valibot and
// arktype. An invalid payload never reaches the handler and is dead-lettered at its first
// delivery with the issues in `Jetroute-Schema-Issues`; a request-reply route answers 400.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import type { Connection } from "../../src/conn/types.js";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import { listDeadLetters } from "../../src/dlq/index.js";
import { ErrService } from "../../src/errors/index.js";
import { createProducer } from "../../src/producer/index.js";
import {
  route,
  withDLQ,
  withDurable,
  withErrorPolicy,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { validated } from "../../src/schema/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  jsStats,
  makeStream,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

interface Order {
  readonly id: string;
  readonly amount: number;
  readonly currency: string;
}

// Each schema fills in a default currency: the handler must see the parsed value, not the raw one.
const vendors = {
  zod: z.object({
    id: z.string(),
    amount: z.number().positive(),
    currency: z.string().default("EUR"),
  }),
  valibot: v.object({
    id: v.string(),
    amount: v.pipe(v.number(), v.minValue(0.01)),
    currency: v.optional(v.string(), "EUR"),
  }),
  arktype: type({ id: "string", amount: "number > 0", currency: "string = 'EUR'" }),
} as const;

/** A stream, a DLQ stream and a broker running `handler` on `<prefix>.created`. */
async function setup(conn: Connection, handler: Parameters<typeof route>[1]) {
  const stream = unique("SCHEMA");
  const prefix = await makeStream(conn, stream);
  const dlqStream = unique("SCHEMADLQ");
  const dlq = `${dlqStream.toLowerCase()}.dead`;
  await ensureStream(conn, dlqStream, withSubjects(dlq));
  const subject = `${prefix}.created`;
  const run = runBroker(conn, (b) =>
    b.register(
      route(
        "charge",
        handler,
        withStream(stream),
        withSubject(subject),
        withDurable("charge"),
        withDLQ(dlq),
      ),
    ),
  );
  await run.broker.started();
  return { stream, dlqStream, subject, run };
}

describe("Standard Schema validation on a JetStream route", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const producer = createProducer(conn);

  for (const [vendor, schema] of Object.entries(vendors)) {
    it(`${vendor}: a payload failing its schema is in the DLQ at its first delivery, with the issues in its headers`, async () => {
      const seen: Order[] = [];
      const { stream, dlqStream, subject, run } = await setup(
        conn,
        validated(schema, async (order) => {
          seen.push(order);
        }),
      );
      await producer.publishJetStream(subject, { id: "o-1", amount: "12" });
      await until(() => jsStats(run.broker, "charge").deadLettered === 1);
      await producer.publishJetStream(subject, { id: "o-2", amount: 12 });
      await until(() => jsStats(run.broker, "charge").acked === 1);
      await run.stop();

      // The valid one reached the handler parsed (the default filled in); the invalid one never did.
      assert.deepEqual(seen, [{ id: "o-2", amount: 12, currency: "EUR" }]);
      const [letter, ...rest] = await listDeadLetters(conn, dlqStream);
      assert.ok(letter !== undefined);
      assert.equal(rest.length, 0);
      assert.equal(letter.deliveryCount, 1, "dead-lettered at the first delivery");
      assert.equal(letter.sequence, 1);
      assert.deepEqual(letter.problems, []);
      assert.match(letter.error ?? "", /^payload failed its schema: amount: /);
      assert.ok(letter.schemaIssues !== undefined, "issues decoded from the letter");
      assert.deepEqual(
        letter.schemaIssues.map((i) => i.path),
        [["amount"]],
      );
      assert.ok((letter.schemaIssues[0]?.message ?? "").length > 0);
      // The header itself is one line of JSON.
      const raw = await (await conn.jetstreamManager()).streams.getMessage(dlqStream, { seq: 1 });
      const header = raw?.header.get(DeadLetterHeader.SchemaIssues) ?? "";
      assert.deepEqual(JSON.parse(header), letter.schemaIssues);
      // Terminated, never redelivered.
      const info = await consumerInfo(conn, stream, "charge");
      assert.equal(info.num_redelivered, 0);
      assert.equal(info.num_ack_pending, 0);
    });
  }

  it("an async validator is awaited: a payload it refuses is dead-lettered at once, one it accepts is handled", async () => {
    const taken = new Set(["o-taken"]);
    const Unique = z.object({ id: z.string() }).refine(
      async (o) => {
        await new Promise((r) => setTimeout(r, 5));
        return !taken.has(o.id);
      },
      { message: "id already used", path: ["id"] },
    );
    const seen: string[] = [];
    const { dlqStream, subject, run } = await setup(
      conn,
      validated(Unique, async (o) => {
        seen.push(o.id);
      }),
    );
    await producer.publishJetStream(subject, { id: "o-taken" });
    await producer.publishJetStream(subject, { id: "o-new" });
    await until(() => {
      const s = jsStats(run.broker, "charge");
      return s.deadLettered === 1 && s.acked === 1;
    });
    await run.stop();
    assert.deepEqual(seen, ["o-new"]);
    const [letter] = await listDeadLetters(conn, dlqStream);
    assert.equal(letter?.deliveryCount, 1);
    assert.deepEqual(letter?.schemaIssues, [{ message: "id already used", path: ["id"] }]);
  });

  it("a payload that is not JSON is dead-lettered at once, even with the retry error policy", async () => {
    let calls = 0;
    const { dlqStream, subject, run } = await setup(
      conn,
      validated(vendors.zod, async () => {
        calls++;
      }),
    );
    await conn.jetstream.publish(subject, "{not json");
    await until(() => jsStats(run.broker, "charge").deadLettered === 1);
    await run.stop();
    assert.equal(calls, 0);
    const [letter] = await listDeadLetters(conn, dlqStream);
    assert.equal(letter?.deliveryCount, 1);
    assert.match(letter?.schemaIssues?.[0]?.message ?? "", /^not valid JSON/);
    assert.equal(letter?.schemaIssues?.[0]?.path, undefined);
  });

  it("a validator that throws is a handler failure: retried by the route's policy, not dead-lettered as invalid", async () => {
    let attempts = 0;
    const Flaky: StandardSchemaV1<unknown, { id: string }> = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (value: unknown) => {
          attempts++;
          if (attempts === 1) throw new Error("lookup service down");
          return { value: value as { id: string } };
        },
      },
    };
    const seen: string[] = [];
    const { subject, run } = await setup(
      conn,
      validated(Flaky, async (o) => {
        seen.push(o.id);
      }),
    );
    await producer.publishJetStream(subject, { id: "o-9" });
    await until(() => jsStats(run.broker, "charge").acked === 1);
    await run.stop();
    assert.equal(attempts, 2);
    assert.deepEqual(seen, ["o-9"]);
    assert.equal(jsStats(run.broker, "charge").deadLettered, 0);
  });

  it("an invalid payload is dead-lettered at once under the terminate policy too, with its issues", async () => {
    const stream = unique("SCHEMA");
    const prefix = await makeStream(conn, stream);
    const dlqStream = unique("SCHEMADLQ");
    const dlq = `${dlqStream.toLowerCase()}.dead`;
    await ensureStream(conn, dlqStream, withSubjects(dlq));
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "t",
          validated(vendors.valibot, async () => {}),
          withStream(stream),
          withSubject(`${prefix}.x`),
          withDLQ(dlq),
          withErrorPolicy("terminate"),
        ),
      ),
    );
    await run.broker.started();
    await producer.publishJetStream(`${prefix}.x`, { amount: -1 });
    await until(() => jsStats(run.broker, "t").deadLettered === 1);
    await run.stop();
    const [letter] = await listDeadLetters(conn, dlqStream);
    const paths = (letter?.schemaIssues ?? []).map((i) => (i.path ?? []).join("."));
    assert.deepEqual(paths.sort(), ["amount", "id"]);
  });
});

describe("Standard Schema validation on a request-reply route", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const producer = createProducer(conn);

  for (const [vendor, schema] of Object.entries(vendors)) {
    it(`${vendor}: an invalid request is answered 400 with the issues; a valid one gets the handler's reply`, async () => {
      const subject = `svc.quote.${vendor}`;
      const run = runBroker(conn, (b) =>
        b.register(
          route(
            `quote-${vendor}`,
            validated(schema, async (order) => ({ total: order.amount, currency: order.currency })),
            withSubject(subject),
            withRequestReply(),
          ),
        ),
      );
      await run.broker.started();
      assert.deepEqual(await producer.request(subject, { id: "q", amount: 5 }), {
        total: 5,
        currency: "EUR",
      });
      const err = await producer.request(subject, { amount: "five" }).then(
        () => assert.fail("expected a 400"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ErrService);
      assert.equal(err.serviceCode, 400);
      assert.match(err.description, /^payload failed its schema: /);
      const paths = (err.issues ?? []).map((i) => (i.path ?? []).join(".")).sort();
      assert.deepEqual(paths, ["amount", "id"]);
      await run.stop();
    });
  }

  it("the 400 carries the issues in Jetroute-Schema-Issues and, complete, as its JSON body", async () => {
    const subject = "svc.quote.raw";
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "quote-raw",
          validated(vendors.zod, async () => ({})),
          withSubject(subject),
          withRequestReply(),
        ),
      ),
    );
    await run.broker.started();
    const reply = await conn.nats.request(subject, JSON.stringify({ id: 7, amount: 0 }));
    await run.stop();
    assert.equal(reply.headers?.get("Nats-Service-Error-Code"), "400");
    const body = JSON.parse(reply.string()) as { path: string[] }[];
    assert.deepEqual(body.map((i) => i.path.join(".")).sort(), ["amount", "id"]);
    assert.deepEqual(JSON.parse(reply.headers?.get("Jetroute-Schema-Issues") ?? ""), body);
  });
});
