// runHandler (jetroute/testing): a route's handler on a made-up message, no server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, ErrShutdownTimeout, isJetrouteError } from "../../src/errors/index.js";
import type { RouteOption } from "../../src/router/index.js";
import {
  ack,
  exponential,
  fixed,
  type Middleware,
  reject,
  retry,
  route,
  withBackoff,
  withErrorPolicy,
  withFanOut,
  withHandlerTimeout,
  withMaxDeliver,
  withMiddleware,
  withOnError,
  withQueueGroup,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import type { Handler, Message } from "../../src/router/types.js";
import { recordingProducer, runHandler } from "../../src/testing/index.js";

function jsRoute(handler: Handler, ...options: RouteOption[]) {
  return route(
    "orders",
    handler,
    withStream("ORDERS"),
    withSubject("orders.created"),
    withMaxDeliver(3),
    withBackoff(fixed("2s")),
    ...options,
  );
}

function requestRoute(handler: Handler) {
  return route("quote", handler, withSubject("quote.get"), withRequestReply());
}

async function settlementOf(
  r: ReturnType<typeof jsRoute>,
  message?: Parameters<typeof runHandler>[1],
) {
  const result = await runHandler(r, message);
  assert.equal(result.kind, "jetstream");
  return result.kind === "jetstream" ? result.settlement : undefined;
}

function assertInvalid(err: unknown, field: string): true {
  assert.ok(isJetrouteError(err, ErrorCode.InvalidOption), `expected ErrInvalidOption: ${err}`);
  // The field is what the user must fix, so the error has to name it.
  assert.ok((err as Error).message.includes(`${field} `), `should name ${field}`);
  return true;
}

describe("runHandler on a JetStream route", () => {
  it("acks a message whose handler returns nothing", async () => {
    assert.deepEqual(await settlementOf(jsRoute(async () => undefined)), { kind: "ack" });
  });

  it("naks a retried message with the route's backoff for its delivery count", async () => {
    const r = route(
      "orders",
      async () => retry(),
      withStream("ORDERS"),
      withSubject("orders.created"),
      withBackoff(exponential({ initial: "1s", max: "1m" })),
    );
    assert.deepEqual(await settlementOf(r, { deliveryCount: 3 }), { kind: "nak", delayMs: 4000 });
  });

  it("naks with the delay retry() asks for", async () => {
    const r = jsRoute(async () => retry({ delay: "250ms" }));
    assert.deepEqual(await settlementOf(r), { kind: "nak", delayMs: 250 });
  });

  it("dead-letters a retried message on its final delivery", async () => {
    const s = await settlementOf(
      jsRoute(async () => retry()),
      { deliveryCount: 3 },
    );
    assert.equal(s?.kind, "dead-letter");
  });

  it("dead-letters a rejected message on its first delivery, with the reason", async () => {
    const s = await settlementOf(jsRoute(async () => reject("bad order")));
    assert.deepEqual(s, { kind: "dead-letter", reason: "bad order" });
  });

  it("naks a thrown error, then dead-letters it on the final delivery", async () => {
    const r = jsRoute(async () => {
      throw new Error("db down");
    });
    assert.deepEqual(await settlementOf(r, { deliveryCount: 2 }), { kind: "nak", delayMs: 2000 });
    const last = await settlementOf(r, { deliveryCount: 3 });
    assert.equal(last?.kind, "dead-letter");
    assert.match(last?.kind === "dead-letter" ? last.reason : "", /db down/);
  });

  it("dead-letters a thrown error at once under errorPolicy terminate", async () => {
    const r = jsRoute(async () => {
      throw new Error("no");
    }, withErrorPolicy("terminate"));
    assert.equal((await settlementOf(r))?.kind, "dead-letter");
  });

  it("dead-letters a malformed JSON payload the handler parses, on the final delivery", async () => {
    const r = jsRoute(async (m) => {
      m.json();
    });
    const s = await settlementOf(r, { data: "{not json", deliveryCount: 3 });
    assert.equal(s?.kind, "dead-letter");
  });

  it("releases a message whose handler was interrupted by shutdown", async () => {
    const stop = new AbortController();
    stop.abort(new ErrShutdownTimeout("grace over"));
    const r = await runHandler(
      jsRoute(async () => ack()),
      {},
      { signal: stop.signal },
    );
    assert.deepEqual(r.kind === "jetstream" && r.settlement, { kind: "release" });
  });

  it("dead-letters without running the handler a message delivered far past maxDeliver", async () => {
    let ran = false;
    const r = await runHandler(
      jsRoute(async () => {
        ran = true;
      }),
      { deliveryCount: 100 },
    );
    assert.equal(ran, false);
    assert.equal(r.result, undefined);
    assert.equal(r.kind === "jetstream" && r.settlement.kind, "dead-letter");
  });

  it("counts a handler timeout as a failure", async () => {
    const errors: unknown[] = [];
    const r = jsRoute(
      (_m, ctx) =>
        new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(undefined))),
      withHandlerTimeout("20ms"),
      withOnError((err) => {
        errors.push(err);
      }),
    );
    assert.deepEqual(await settlementOf(r), { kind: "nak", delayMs: 2000 });
    assert.ok(isJetrouteError(errors[0], ErrorCode.HandlerTimeout));
  });

  it("gives the handler the payload, headers, subject, delivery count, sequence and timestamp", async () => {
    let seen: Message | undefined;
    const r = route(
      "orders",
      async (m) => {
        seen = m;
      },
      withStream("ORDERS"),
      withSubject("orders.*"),
    );
    await runHandler(r, {
      subject: "orders.created",
      data: { id: 7 },
      headers: { "Trace-Id": "abc", Tag: ["a", "b"] },
      deliveryCount: 2,
      streamSequence: 42,
      timestamp: new Date("2026-01-02T03:04:05Z"),
    });
    assert.ok(seen);
    assert.deepEqual(seen.json(), { id: 7 });
    assert.equal(seen.subject, "orders.created");
    assert.equal(seen.header("trace-id"), "abc");
    assert.deepEqual(seen.headers.get("Tag"), ["a", "b"]);
    assert.equal(seen.deliveryCount, 2);
    assert.equal(seen.streamSequence, 42);
    assert.equal(seen.timestamp.toISOString(), "2026-01-02T03:04:05.000Z");
  });

  it("runs route middleware inside broker middleware", async () => {
    const order: string[] = [];
    const tag =
      (name: string): Middleware =>
      (next) =>
      async (m, ctx) => {
        order.push(name);
        return next(m, ctx);
      };
    const r = jsRoute(
      async () => {
        order.push("handler");
      },
      withMiddleware(tag("route")),
    );
    await runHandler(r, {}, { middleware: [tag("broker")] });
    assert.deepEqual(order, ["broker", "route", "handler"]);
  });

  it("records what the handler published", async () => {
    const r = jsRoute(async (m, ctx) => {
      await ctx.producer.publishJetStream("orders.shipped", m.json(), {
        msgId: "7",
        headers: { From: "test" },
      });
      ctx.producer.publish("audit", "raw");
    });
    const result = await runHandler(r, { data: { id: 7 } });
    assert.deepEqual(
      result.published.map((p) => [p.kind, p.subject, p.payload, p.msgId, p.headers]),
      [
        ["jetstream", "orders.shipped", { id: 7 }, "7", { From: ["test"] }],
        ["core", "audit", "raw", undefined, {}],
      ],
    );
    assert.equal(new TextDecoder().decode(result.published[0]?.data), '{"id":7}');
  });

  it("uses the producer given, which can answer requests", async () => {
    const producer = recordingProducer({ respond: () => ({ price: 3 }) });
    const r = jsRoute(async (_m, ctx) => {
      const quote = await ctx.producer.request<{ price: number }>("quote.get", {});
      return quote.price === 3 ? ack() : reject("wrong price");
    });
    const result = await runHandler(r, {}, { producer });
    assert.deepEqual(result.kind === "jetstream" && result.settlement, { kind: "ack" });
    assert.equal(producer.published.length, 1);
  });

  it("fails a request made through the default producer with no responders", async () => {
    const r = jsRoute(async (_m, ctx) => {
      await ctx.producer.request("quote.get", {});
    }, withErrorPolicy("terminate"));
    const result = await runHandler(r);
    assert.equal(result.result?.kind, "error");
    assert.ok(
      result.result?.kind === "error" &&
        isJetrouteError(result.result.error, ErrorCode.NoResponders),
    );
  });
});

describe("runHandler on core routes", () => {
  it("returns the reply value of a request route", async () => {
    const r = await runHandler(
      requestRoute(async (m) => ({ echo: m.json() })),
      { data: [1] },
    );
    assert.equal(r.kind, "request");
    assert.deepEqual(r.kind === "request" && r.reply.kind === "data" && r.reply.value, {
      echo: [1],
    });
  });

  it("answers a rejected request with the service error code and description", async () => {
    const r = await runHandler(requestRoute(async () => reject("unknown sku", { code: 404 })));
    assert.deepEqual(r.kind === "request" && r.reply, {
      kind: "error",
      code: 404,
      description: "unknown sku",
    });
  });

  it("answers a malformed request with 400 and a failing one with 500", async () => {
    const parse = requestRoute(async (m) => m.json());
    const bad = await runHandler(parse, { data: "{" });
    assert.equal(bad.kind === "request" && bad.reply.kind === "error" && bad.reply.code, 400);
    const failing = await runHandler(
      requestRoute(async () => {
        throw new Error("boom");
      }),
    );
    assert.equal(
      failing.kind === "request" && failing.reply.kind === "error" && failing.reply.code,
      500,
    );
  });

  it("answers a retried request with 503", async () => {
    const r = await runHandler(requestRoute(async () => retry()));
    assert.equal(r.kind === "request" && r.reply.kind === "error" && r.reply.code, 503);
  });

  it("reports ack for a handled queue message and error for a failed fan-out message", async () => {
    const q = route("q", async () => undefined, withSubject("jobs"), withQueueGroup("workers"));
    const qr = await runHandler(q);
    assert.deepEqual(qr.kind === "queue" && qr.outcome, { kind: "ack" });
    const f = route(
      "f",
      async () => {
        throw new Error("x");
      },
      withSubject("prices"),
      withFanOut(),
    );
    const fr = await runHandler(f);
    assert.equal(fr.kind === "fanout" && fr.outcome.kind, "error");
  });
});

describe("runHandler refuses bad input", () => {
  const ok = jsRoute(async () => undefined);

  it("refuses something that is not a route", async () => {
    await assert.rejects(runHandler({ name: "x" } as never), (e) => assertInvalid(e, "route"));
  });

  it("refuses a subject the route does not consume", async () => {
    await assert.rejects(runHandler(ok, { subject: "payments.created" }), (e) =>
      assertInvalid(e, "message.subject"),
    );
  });

  it("asks for a subject when the route's has a wildcard", async () => {
    const wild = route("w", async () => undefined, withStream("S"), withSubject("s.*"));
    await assert.rejects(runHandler(wild), (e) => assertInvalid(e, "message.subject"));
  });

  it("refuses a delivery count below 1", async () => {
    await assert.rejects(runHandler(ok, { deliveryCount: 0 }), (e) =>
      assertInvalid(e, "message.deliveryCount"),
    );
  });

  it("refuses headers that are not strings", async () => {
    await assert.rejects(runHandler(ok, { headers: { a: 1 as never } }), (e) =>
      assertInvalid(e, "message.headers"),
    );
  });

  it("refuses a field it does not know", async () => {
    await assert.rejects(runHandler(ok, { payload: "x" } as never), (e) =>
      assertInvalid(e, "message.payload"),
    );
  });

  it("refuses data that has no JSON form", async () => {
    await assert.rejects(runHandler(ok, { data: { n: 1n } }), (e) =>
      assertInvalid(e, "message.data"),
    );
  });

  it("throws the route's own sentinel for a bad route option", async () => {
    const bad = route(
      "b",
      async () => undefined,
      withStream("S"),
      withSubject("s"),
      withMaxDeliver(0),
    );
    await assert.rejects(runHandler(bad), (e) => isJetrouteError(e, ErrorCode.InvalidMaxDeliver));
  });
});
