import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { headers as natsHeaders } from "@nats-io/nats-core";
import {
  type Message,
  route,
  withFanOut,
  withRequestReply,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { startRoute, until, useCoreFixture } from "./core-support.js";

checkLeaksAfterAll();

describe("the core route hot path", async () => {
  const { conn: client } = await useCoreFixture();

  it("a fan-out route with default options takes a 20,000-message burst of tiny messages without dropping any", async () => {
    // Tiny messages pack ~2,000 to a 64 KiB socket read, all accepted before a handler runs:
    // the default pending bound must hold a whole read even with concurrency 1.
    let handled = 0;
    const r = await startRoute(
      client,
      route(
        "burst",
        async () => {
          handled++;
        },
        withSubject("hot.burst"),
        withFanOut(),
      ),
    );
    const payload = new Uint8Array(8);
    for (let i = 0; i < 20_000; i++) client.nats.publish("hot.burst", payload);
    await client.nats.flush();
    await until(() => handled + r.runner.stats().dropped === 20_000);
    assert.equal(r.runner.stats().dropped, 0);
    assert.equal(handled, 20_000);
    await r.stop();
  });

  it("a request handler sees the subject, headers, reply subject and payload it was sent", async () => {
    let seen: Message | undefined;
    const r = await startRoute(
      client,
      route(
        "view",
        async (m) => {
          seen = m;
          return m.string();
        },
        withSubject("hot.view"),
        withRequestReply(),
      ),
    );
    const h = natsHeaders();
    h.set("X-Trace", "abc");
    const reply = await client.nats.request("hot.view", "hello", { headers: h, timeout: 5_000 });
    assert.equal(reply.json(), "hello");
    assert.ok(seen);
    assert.equal(seen.subject, "hot.view");
    assert.equal(seen.header("X-Trace"), "abc");
    assert.deepEqual(seen.headers.get("X-Trace"), ["abc"]);
    assert.equal(seen.string(), "hello");
    assert.equal(seen.data, seen.data, "data is one view, not a new one per read");
    assert.equal(seen.deliveryCount, 1);
    assert.equal(seen.streamSequence, undefined);
    assert.match(seen.replyTo ?? "", /^_INBOX\./);
    await r.stop();
  });

  it("a core message's timestamp is when it arrived, even when the handler reads it later", async () => {
    let arrivedBy = 0;
    let stamped: Date | undefined;
    const r = await startRoute(
      client,
      route(
        "stamp",
        async (m) => {
          arrivedBy = Date.now();
          await sleep(50);
          stamped = m.timestamp;
        },
        withSubject("hot.stamp"),
        withFanOut(),
      ),
    );
    client.nats.publish("hot.stamp");
    await until(() => stamped !== undefined);
    assert.ok(stamped instanceof Date);
    assert.ok(stamped.getTime() <= arrivedBy, "timestamp taken after the message arrived");
    assert.equal(r.runner.stats().handled, 1);
    await r.stop();
  });
});
