import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrHandlerTimeout, ErrorCode } from "../../src/errors/index.js";
import type { Logger } from "../../src/logger/index.js";
import { silentLogger } from "../../src/logger/index.js";
import type { Producer } from "../../src/producer/types.js";
import {
  ack,
  buildPipeline,
  buildRouteSpec,
  type Context,
  compose,
  type Handler,
  isOutcome,
  logging,
  type Message,
  type MessageMetric,
  type Middleware,
  metrics,
  recover,
  reject,
  retry,
  route,
  timeout,
  withHandlerTimeout,
  withMiddleware,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { type HandlerResult, handlerRuntime } from "../../src/runtime/index.js";

/** The runtime's run() for a bare handler on a JetStream route with no options. */
function invoke(handler: Handler, msg: Message, ctx: Context): Promise<HandlerResult> {
  const spec = buildRouteSpec(route("invoked", handler, withStream("S"), withSubject("s")));
  return handlerRuntime(spec, [], silentLogger()).run(msg, ctx);
}

function fakeMessage(subject = "orders.created", deliveryCount = 1): Message {
  const data = new TextEncoder().encode('{"id":1}');
  return {
    subject,
    data,
    string: () => new TextDecoder().decode(data),
    json: <T>() => JSON.parse(new TextDecoder().decode(data)) as T,
    header: () => undefined,
    headers: new Map(),
    deliveryCount,
    streamSequence: 7,
    timestamp: new Date(0),
    replyTo: undefined,
  };
}

function fakeContext(overrides: Partial<Context> = {}): Context {
  return {
    signal: new AbortController().signal,
    logger: silentLogger(),
    route: "charge",
    producer: {} as Producer,
    ...overrides,
  };
}

function recordingLogger(lines: { level: string; obj: object }[]): Logger {
  const at = (level: string) => (obj: object) => void lines.push({ level, obj });
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => logger,
  };
  return logger;
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

test("compose runs the first middleware outermost", async () => {
  const order: string[] = [];
  const tag =
    (name: string): Middleware =>
    (next) =>
    async (msg, ctx) => {
      order.push(`${name}>`);
      const r = await next(msg, ctx);
      order.push(`<${name}`);
      return r;
    };
  const h = compose([tag("a"), tag("b")], async () => {
    order.push("handler");
    return ack();
  });
  await h(fakeMessage(), fakeContext());
  assert.deepEqual(order, ["a>", "b>", "handler", "<b", "<a"]);
});

test("recover turns a thrown error into a retry by default", async () => {
  const h = compose([recover()], async () => {
    throw new Error("db down");
  });
  const out = await h(fakeMessage(), fakeContext());
  assert.ok(isOutcome(out));
  assert.equal(out.kind, "retry");
});

test("recover can turn a thrown error into a reject", async () => {
  const h = compose([recover({ as: "reject" })], async () => {
    throw new Error("bad input");
  });
  const out = await h(fakeMessage(), fakeContext());
  assert.ok(isOutcome(out) && out.kind === "reject");
});

test("timeout aborts the handler's signal with ErrHandlerTimeout and rejects", async () => {
  const before = timeouts();
  let seen: AbortSignal | undefined;
  const h = compose([timeout(20)], (_msg, ctx) => {
    seen = ctx.signal;
    return new Promise((_, fail) =>
      ctx.signal.addEventListener("abort", () => fail(new Error("stopped"))),
    );
  });
  await assert.rejects(h(fakeMessage(), fakeContext()), ErrHandlerTimeout);
  assert.ok(seen?.aborted);
  assert.ok(seen?.reason instanceof ErrHandlerTimeout);
  assert.equal(timeouts(), before, "no timer left behind");
});

test("timeout waits for a handler that ignores its signal before rejecting", async () => {
  let returned = false;
  const h = compose([timeout(10)], async () => {
    await new Promise((resolve) => setTimeout(resolve, 60));
    returned = true;
    return ack();
  });
  await assert.rejects(h(fakeMessage(), fakeContext()), ErrHandlerTimeout);
  assert.equal(returned, true, "rejected only after the handler returned");
});

test("a handler that finishes in time leaves no timer behind", async () => {
  const before = timeouts();
  const h = compose([timeout("1h")], async () => ack());
  const out = await h(fakeMessage(), fakeContext());
  assert.ok(isOutcome(out) && out.kind === "ack");
  assert.equal(timeouts(), before);
});

test("timeout passes the caller's abort through to the handler", async () => {
  const parent = new AbortController();
  const h = compose([timeout("1h")], (_msg, ctx) => {
    parent.abort(new Error("shutdown"));
    return Promise.resolve(ctx.signal.aborted ? retry() : ack());
  });
  const out = await h(fakeMessage(), fakeContext({ signal: parent.signal }));
  assert.ok(isOutcome(out) && out.kind === "retry");
});

test("the route's handler timeout is part of its pipeline", async () => {
  const spec = buildRouteSpec(
    route(
      "slow",
      () => new Promise((resolve) => setTimeout(resolve, 40)),
      withStream("S"),
      withSubject("s"),
      withHandlerTimeout(15),
    ),
  );
  const result = await handlerRuntime(spec, [], silentLogger()).run(fakeMessage(), fakeContext());
  assert.equal(result.kind, "error");
  assert.equal(
    result.kind === "error" && (result.error as { code: string }).code,
    ErrorCode.HandlerTimeout,
  );
});

test("broker middleware runs outside route middleware", async () => {
  const order: string[] = [];
  const tag =
    (name: string): Middleware =>
    (next) =>
    (msg, ctx) => {
      order.push(name);
      return next(msg, ctx);
    };
  const spec = buildRouteSpec(
    route("m", async () => ack(), withStream("S"), withSubject("s"), withMiddleware(tag("route"))),
  );
  await buildPipeline(spec, [tag("broker")])(fakeMessage(), fakeContext());
  assert.deepEqual(order, ["broker", "route"]);
});

test("metrics reports the outcome kind of every message", async () => {
  const seen: MessageMetric[] = [];
  const h = compose([metrics((m) => void seen.push(m))], async () => reject("no"));
  await h(fakeMessage("a.b", 3), fakeContext());
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.kind, "reject");
  assert.equal(seen[0]?.route, "charge");
  assert.equal(seen[0]?.subject, "a.b");
  assert.equal(seen[0]?.deliveryCount, 3);
  assert.ok((seen[0]?.durationMs ?? -1) >= 0);
});

test("metrics reports a thrown error and rethrows it", async () => {
  const seen: MessageMetric[] = [];
  const boom = new Error("boom");
  const h = compose([metrics((m) => void seen.push(m))], async () => {
    throw boom;
  });
  await assert.rejects(h(fakeMessage(), fakeContext()), (err) => err === boom);
  assert.equal(seen[0]?.kind, "error");
  assert.equal(seen[0]?.error, boom);
});

test("a throwing metrics hook does not change the result", async () => {
  const h = compose(
    [
      metrics(() => {
        throw new Error("hook bug");
      }),
    ],
    async () => "reply",
  );
  assert.equal(await h(fakeMessage(), fakeContext()), "reply");
});

test("logging writes one line per message and errors at warn", async () => {
  const lines: { level: string; obj: object }[] = [];
  const ctx = fakeContext({ logger: recordingLogger(lines) });
  await compose([logging()], async () => ack())(fakeMessage(), ctx);
  await assert.rejects(
    compose([logging()], async () => {
      throw new Error("x");
    })(fakeMessage(), ctx),
  );
  assert.deepEqual(
    lines.map((l) => [l.level, (l.obj as { outcome: string }).outcome]),
    [
      ["debug", "ack"],
      ["warn", "error"],
    ],
  );
});

test("the runtime classifies outcomes, values and errors", async () => {
  const msg = fakeMessage();
  const ctx = fakeContext();
  assert.equal((await invoke(async () => ack(), msg, ctx)).kind, "outcome");
  assert.deepEqual(await invoke(async () => ({ sum: 3 }), msg, ctx), {
    kind: "value",
    value: { sum: 3 },
  });
  assert.deepEqual(await invoke(async () => undefined, msg, ctx), {
    kind: "value",
    value: undefined,
  });
});

test("the runtime never rejects, even when the handler throws synchronously", async () => {
  const boom = new Error("sync");
  const syncThrow = (() => {
    throw boom;
  }) as unknown as Handler;
  const result = await invoke(syncThrow, fakeMessage(), fakeContext());
  assert.deepEqual(result, { kind: "error", error: boom });
});

test("a plain object that looks like an outcome is not one", () => {
  assert.equal(isOutcome({ kind: "ack" }), false);
});

test("retry carries its delay in milliseconds", () => {
  const r = retry({ delay: "2s" });
  assert.ok(isOutcome(r));
  assert.equal(r.kind === "retry" && r.delayMs, 2000);
});

test("reject uses service error code 500 unless told otherwise", () => {
  const r = reject("nope");
  assert.equal(r.kind === "reject" && r.code, 500);
});

test("a handler that gives up after its timeout causes no unhandled rejection", async () => {
  let gaveUp: Promise<void> | undefined;
  const h = compose([timeout(10)], (_msg, ctx) => {
    gaveUp = new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
    return gaveUp.then(() => Promise.reject(ctx.signal.reason));
  });
  await assert.rejects(h(fakeMessage(), fakeContext()), ErrHandlerTimeout);
  await gaveUp;
  await new Promise((resolve) => setImmediate(resolve));
});

test("a timeout of zero is rejected", () => {
  assert.throws(() => timeout(0), { code: ErrorCode.InvalidDuration });
});
