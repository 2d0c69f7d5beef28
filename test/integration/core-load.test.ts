import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createProducer } from "../../src/producer/index.js";
import {
  route,
  withConcurrency,
  withQueueGroup,
  withRequestReply,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { serve, useCoreFixture } from "./core-support.js";

checkLeaksAfterAll();

describe("request-reply routes under load", async () => {
  const { conn: client, open } = await useCoreFixture();
  const producer = createProducer(client);

  it("two instances in one queue group share the requests", async () => {
    const served = { a: 0, b: 0 };
    const instance = async (id: "a" | "b") =>
      serve(
        await open(),
        route(
          "shared",
          async () => {
            served[id]++;
            return id;
          },
          withSubject("load.shared"),
          withRequestReply(),
          withQueueGroup("shared"),
        ),
      );
    const [a, b] = await Promise.all([instance("a"), instance("b")]);
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => producer.request<string>("load.shared", {})),
    );
    assert.equal(replies.length, 200);
    assert.equal(served.a + served.b, 200);
    assert.ok(served.a > 0, "instance a got no requests");
    assert.ok(served.b > 0, "instance b got no requests");
    await Promise.all([a.stop(), b.stop()]);
  });

  it("never runs more handlers at once than the concurrency bound, under 1000 parallel requests", async () => {
    let running = 0;
    let peak = 0;
    const r = await serve(
      client,
      route(
        "bounded",
        async (m) => {
          running++;
          peak = Math.max(peak, running);
          await sleep(1);
          running--;
          return m.json<number>();
        },
        withSubject("load.bounded"),
        withRequestReply(),
        withConcurrency(8),
      ),
    );
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        producer.request<number>("load.bounded", i, { timeoutMs: 15_000 }),
      ),
    );
    assert.deepEqual(
      replies,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.ok(peak <= 8, `peak concurrency ${peak} exceeded 8`);
    assert.equal(peak, 8);
    await r.stop();
  });
});
