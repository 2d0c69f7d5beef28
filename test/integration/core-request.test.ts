import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { ErrService } from "../../src/errors/index.js";
import { withMetrics } from "../../src/metrics/index.js";
import { createProducer } from "../../src/producer/index.js";
import {
  reject,
  retry,
  route,
  withConcurrency,
  withMaxPending,
  withOnError,
  withRequestReply,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { gate, serve, startRoute, until, useCoreFixture } from "./core-support.js";
import { sample } from "./metrics-support.js";

checkLeaksAfterAll();

async function serviceError(p: Promise<unknown>): Promise<ErrService> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ErrService, `expected ErrService, got ${String(err)}`);
    return err;
  }
  assert.fail("expected an error reply");
}

describe("request-reply routes", async () => {
  const { conn } = await useCoreFixture();
  const producer = createProducer(conn);

  it("an echo endpoint answers each request with the handler's return value", async () => {
    const r = await serve(
      conn,
      route(
        "echo",
        async (m) => ({ echoed: m.json<{ n: number }>().n * 2 }),
        withSubject("svc.echo"),
        withRequestReply(),
      ),
    );
    assert.deepEqual(await producer.request("svc.echo", { n: 21 }), { echoed: 42 });
    assert.deepEqual(await producer.request("svc.echo", { n: 1 }), { echoed: 2 });
    await r.stop();
  });

  it("a handler that returns nothing answers null", async () => {
    const r = await serve(
      conn,
      route("quiet", async () => undefined, withSubject("svc.quiet"), withRequestReply()),
    );
    assert.equal(await producer.request("svc.quiet", {}), null);
    await r.stop();
  });

  it("a rejected request reaches the caller as ErrService with the reject code and reason", async () => {
    const r = await serve(
      conn,
      route(
        "charge",
        async () => reject("card declined", { code: 402 }),
        withSubject("svc.charge"),
        withRequestReply(),
      ),
    );
    const err = await serviceError(producer.request("svc.charge", { amount: 5 }));
    assert.equal(err.serviceCode, 402);
    assert.equal(err.description, "card declined");
    await r.stop();
  });

  it("a handler that throws answers the caller with a 500 ErrService and reports the error to onError", async () => {
    const seen: unknown[] = [];
    const r = await serve(
      conn,
      route(
        "boom",
        async () => {
          throw new RangeError("kaput");
        },
        withSubject("svc.boom"),
        withRequestReply(),
        withOnError((err) => void seen.push(err)),
      ),
    );
    const err = await serviceError(producer.request("svc.boom", {}));
    assert.equal(err.serviceCode, 500);
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof RangeError);
    await r.stop();
  });

  it("a malformed JSON request gets a 400 error reply and the next request still works", async () => {
    const r = await serve(
      conn,
      route(
        "parse",
        async (m) => m.json<{ v: number }>().v,
        withSubject("svc.parse"),
        withRequestReply(),
      ),
    );
    const bad = await serviceError(
      producer.request("svc.parse", new TextEncoder().encode("{not json")),
    );
    assert.equal(bad.serviceCode, 400);
    assert.equal(await producer.request("svc.parse", { v: 7 }), 7);
    await r.stop();
  });

  it("retry() on a request route answers 503, since core NATS cannot redeliver", async () => {
    const r = await serve(
      conn,
      route("again", async () => retry(), withSubject("svc.again"), withRequestReply()),
    );
    const err = await serviceError(producer.request("svc.again", {}));
    assert.equal(err.serviceCode, 503);
    await r.stop();
  });

  it("a reply that cannot be JSON-encoded answers 500 instead of leaving the caller waiting", async () => {
    const r = await serve(
      conn,
      route("big", async () => ({ n: 1n }), withSubject("svc.big"), withRequestReply()),
    );
    const err = await serviceError(producer.request("svc.big", {}));
    assert.equal(err.serviceCode, 500);
    await r.stop();
  });

  it("a reply larger than the server's max_payload answers 500 saying so instead of leaving the caller waiting", async () => {
    const size = conn.nats.info?.max_payload ?? 1024 * 1024;
    const registry = new Registry();
    const r = await serve(
      conn,
      route(
        "huge",
        async () => new Uint8Array(size + 1),
        withSubject("svc.huge"),
        withRequestReply(),
      ),
      withMetrics({ registry }),
    );
    const err = await serviceError(producer.request("svc.huge", {}, { timeoutMs: 5_000 }));
    assert.equal(err.serviceCode, 500);
    assert.match(err.message, new RegExp(`reply of ${size + 1} bytes could not be sent`));
    // Counted as what the caller got: an error, not a success.
    const settled = (outcome: string) =>
      sample(text, "jetroute_messages_settled_total", { route: "huge", stream: "", outcome });
    const text = await registry.metrics();
    assert.equal(settled("error"), 1);
    assert.equal(settled("ok"), 0);
    await r.stop();
  });

  it("a request published without a reply subject is logged and dropped, and the route keeps serving", async () => {
    let calls = 0;
    const r = await serve(
      conn,
      route(
        "noreply",
        async () => {
          calls++;
          return "ok";
        },
        withSubject("svc.noreply"),
        withRequestReply(),
      ),
    );
    conn.nats.publish("svc.noreply", "{}");
    await until(() => r.logger.lines.some((l) => l.level === "warn"));
    assert.equal(await producer.request("svc.noreply", {}), "ok");
    assert.equal(calls, 1);
    await r.stop();
  });

  it("a request past concurrency plus maxPending gets a 503 overloaded reply at once", async () => {
    const hold = gate();
    const r = await serve(
      conn,
      route(
        "busy",
        async () => {
          await hold.promise;
          return "done";
        },
        withSubject("svc.busy"),
        withRequestReply(),
        withConcurrency(1),
        withMaxPending(1),
      ),
    );
    // One connection delivers in order: the first runs, the second waits, the third is over.
    const first = producer.request("svc.busy", {});
    const second = producer.request("svc.busy", {});
    const third = await serviceError(producer.request("svc.busy", {}));
    assert.equal(third.serviceCode, 503);
    hold.open();
    assert.equal(await first, "done");
    assert.equal(await second, "done");
    await r.stop();
  });

  it("stats() counts received, handled, failed, dropped and reply-less messages", async () => {
    const hold = gate();
    const r = await startRoute(
      conn,
      route(
        "counted",
        async (m) => {
          await hold.promise;
          if (m.json<{ fail?: boolean }>().fail) throw new Error("asked to");
          return "ok";
        },
        withSubject("svc.counted"),
        withRequestReply(),
        withConcurrency(1),
        withMaxPending(1),
      ),
    );
    conn.nats.publish("svc.counted", "{}");
    const first = producer.request("svc.counted", {});
    const second = producer.request("svc.counted", { fail: true }).catch((e: unknown) => e);
    await serviceError(producer.request("svc.counted", {}));
    hold.open();
    await first;
    assert.ok((await second) instanceof ErrService);
    await r.stop();
    const { received, handled, failed, dropped, noReply, inFlight, abandoned } = r.runner.stats();
    assert.deepEqual(
      { received, handled, failed, dropped, noReply, inFlight, abandoned },
      { received: 4, handled: 2, failed: 1, dropped: 1, noReply: 1, inFlight: 0, abandoned: 0 },
    );
  });
});
