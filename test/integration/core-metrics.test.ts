import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withBrokerMiddleware } from "../../src/broker/index.js";
import { createProducer } from "../../src/producer/index.js";
import {
  type MessageMetric,
  metrics,
  route,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { runBroker, until, useCoreFixture } from "./core-support.js";

checkLeaksAfterAll();

describe("core and JetStream routes in one broker", async () => {
  const { conn } = await useCoreFixture();
  const producer = createProducer(conn);

  it("one metrics middleware sees both the JetStream route and the request-reply route", async () => {
    await ensureStream(conn, "MIXED", withSubjects("mixed.>"));
    const seen: MessageMetric[] = [];
    const r = await runBroker(
      conn,
      [
        route("store", async () => undefined, withStream("MIXED"), withSubject("mixed.in")),
        route("ask", async () => "answer", withSubject("ask.mixed"), withRequestReply()),
      ],
      withBrokerMiddleware(metrics((m) => void seen.push(m))),
    );
    await producer.publishJetStream("mixed.in", { n: 1 });
    assert.equal(await producer.request("ask.mixed", {}), "answer");
    await until(() => seen.some((m) => m.route === "store"));
    await r.stop();
    assert.deepEqual(seen.map((m) => [m.route, m.kind]).sort(), [
      ["ask", "value"],
      ["store", "value"],
    ]);
  });
});
