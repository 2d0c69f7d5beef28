import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Connection } from "../../src/conn/types.js";
import {
  type Handler,
  route,
  withFanOut,
  withOnError,
  withQueueGroup,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { serve, until, useCoreFixture } from "./core-support.js";

checkLeaksAfterAll();

describe("queue and fan-out routes", async () => {
  const { conn: publisher, open } = await useCoreFixture();

  /** Two instances of the same route, each on its own connection, as two processes would run it. */
  async function twoInstances(
    make: (handler: Handler) => Parameters<typeof serve>[1],
  ): Promise<{ seen: [number[], number[]]; stop(): Promise<void> }> {
    const seen: [number[], number[]] = [[], []];
    const conns: Connection[] = [await open(), await open()];
    const running = await Promise.all(
      conns.map((c, i) =>
        serve(
          c,
          make(async (m) => {
            seen[i as 0 | 1].push(m.json<number>());
          }),
        ),
      ),
    );
    return { seen, stop: async () => void (await Promise.all(running.map((r) => r.stop()))) };
  }

  async function publish(subject: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) publisher.nats.publish(subject, JSON.stringify(i));
    await publisher.nats.flush();
  }

  it("a fan-out route delivers every message to every instance", async () => {
    const { seen, stop } = await twoInstances((h) =>
      route("fan", h, withSubject("ev.fan"), withFanOut()),
    );
    await publish("ev.fan", 50);
    await until(() => seen[0].length === 50 && seen[1].length === 50);
    const all = Array.from({ length: 50 }, (_, i) => i);
    assert.deepEqual(seen[0], all);
    assert.deepEqual(seen[1], all);
    await stop();
  });

  it("a queue route delivers each message to exactly one instance", async () => {
    const { seen, stop } = await twoInstances((h) =>
      route("work", h, withSubject("ev.work"), withQueueGroup("workers")),
    );
    await publish("ev.work", 200);
    await until(() => seen[0].length + seen[1].length === 200);
    await stop();
    const delivered = [...seen[0], ...seen[1]].sort((a, b) => a - b);
    assert.deepEqual(
      delivered,
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.ok(seen[0].length > 0 && seen[1].length > 0, "one instance got nothing");
  });

  it("a queue handler that throws is reported to onError and the route keeps consuming", async () => {
    const errors: unknown[] = [];
    const ok: number[] = [];
    const r = await serve(
      publisher,
      route(
        "flaky",
        async (m) => {
          const n = m.json<number>();
          if (n === 0) throw new RangeError("zero");
          ok.push(n);
        },
        withSubject("ev.flaky"),
        withQueueGroup("flaky"),
        withOnError((err) => void errors.push(err)),
      ),
    );
    await publish("ev.flaky", 3);
    await until(() => ok.length === 2);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof RangeError);
    await r.stop();
  });
});
