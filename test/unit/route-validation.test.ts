import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ErrorCode, isJetrouteError, JetrouteError } from "../../src/errors/index.js";
import {
  ack,
  buildRouteSpec,
  exponential,
  type Handler,
  RouteKind,
  type RouteOption,
  route,
  validateRouteSet,
  withAckWait,
  withBackoff,
  withConcurrency,
  withDLQ,
  withDurable,
  withErrorPolicy,
  withFanOut,
  withIdleHeartbeat,
  withMaxAckPending,
  withMaxDeliver,
  withMaxPending,
  withOnStreamRecreated,
  withPrefetch,
  withQueueGroup,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";

const handler: Handler = async () => ack();
const js = (...extra: RouteOption[]) => [withStream("ORDERS"), withSubject("orders.*"), ...extra];

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof JetrouteError, `expected a JetrouteError, got ${String(err)}`);
    return { code: err.code, message: err.message };
  }
  assert.fail("expected buildRouteSpec to throw");
}

describe("buildRouteSpec rejects each bad value with its sentinel", () => {
  const rows: {
    title: string;
    name: unknown;
    handler?: unknown;
    options: unknown[];
    code: ErrorCode;
  }[] = [
    { title: "an empty route name", name: "", options: js(), code: ErrorCode.RouteNameRequired },
    {
      title: "a handler that is not a function",
      name: "h",
      handler: "nope",
      options: js(),
      code: ErrorCode.HandlerRequired,
    },
    {
      title: "a missing subject",
      name: "s",
      options: [withStream("ORDERS")],
      code: ErrorCode.SubjectRequired,
    },
    {
      title: "a missing stream on a JetStream route",
      name: "st",
      options: [withSubject("a.b")],
      code: ErrorCode.StreamRequired,
    },
    {
      title: "a concurrency of 0",
      name: "c",
      options: js(withConcurrency(0)),
      code: ErrorCode.InvalidConcurrency,
    },
    {
      title: "a fractional concurrency",
      name: "c2",
      options: js(withConcurrency(1.5)),
      code: ErrorCode.InvalidConcurrency,
    },
    {
      title: "a max deliver of 0",
      name: "md",
      options: js(withMaxDeliver(0)),
      code: ErrorCode.InvalidMaxDeliver,
    },
    {
      title: "a backoff built with a negative delay",
      name: "bo",
      options: js(withBackoff(exponential({ initial: -1, max: "1m" }))),
      code: ErrorCode.InvalidBackoff,
    },
    {
      title: "an ack wait below one second",
      name: "aw",
      options: js(withAckWait("500ms")),
      code: ErrorCode.InvalidDuration,
    },
    {
      title: "an ack wait with an unknown unit",
      name: "aw2",
      options: js(withAckWait("3 days" as never)),
      code: ErrorCode.InvalidDuration,
    },
    {
      title: "a DLQ its own subject matches",
      name: "loop",
      options: [withStream("ORDERS"), withSubject("orders.>"), withDLQ("orders.dlq")],
      code: ErrorCode.DLQLoop,
    },
    {
      title: "a subject with an empty token",
      name: "sub",
      options: [withStream("ORDERS"), withSubject("orders..x")],
      code: ErrorCode.InvalidSubject,
    },
    {
      title: "a DLQ subject with a wildcard",
      name: "dlqw",
      options: js(withDLQ("dlq.*")),
      code: ErrorCode.InvalidSubject,
    },
    {
      title: "a stream name with a dot",
      name: "sn",
      options: [withStream("OR.DERS"), withSubject("a")],
      code: ErrorCode.InvalidStreamName,
    },
    {
      title: "a JetStream-only option on a queue route",
      name: "ns",
      options: [withSubject("a"), withQueueGroup("g"), withAckWait("5s")],
      code: ErrorCode.OptionNotSupported,
    },
    {
      title: "an unknown action for a recreated stream",
      name: "sr",
      options: js(withOnStreamRecreated("replay" as never)),
      code: ErrorCode.InvalidOption,
    },
    {
      title: "a max ack pending of 0",
      name: "ma",
      options: js(withMaxAckPending(0)),
      code: ErrorCode.InvalidOption,
    },
    {
      title: "a max ack pending on a fan-out route",
      name: "mf",
      options: [withSubject("a"), withFanOut(), withMaxAckPending(100)],
      code: ErrorCode.OptionNotSupported,
    },
    {
      title: "fan-out together with a queue group",
      name: "fq",
      options: [withSubject("a"), withFanOut(), withQueueGroup("g")],
      code: ErrorCode.InvalidOption,
    },
    {
      title: "a durable name with a dot",
      name: "du",
      options: js(withDurable("a.b")),
      code: ErrorCode.InvalidOption,
    },
    {
      title: "an unknown error policy",
      name: "ep",
      options: js(withErrorPolicy("ignore" as never)),
      code: ErrorCode.InvalidOption,
    },
  ];
  for (const row of rows) {
    test(`a route with ${row.title} fails with ${row.code}`, () => {
      const r = route(
        row.name as string,
        (row.handler ?? handler) as Handler,
        ...(row.options as RouteOption[]),
      );
      const { code, message } = codeOf(() => buildRouteSpec(r));
      assert.equal(code, row.code);
      assert.ok(message.includes(String(row.name)), "the message names the route");
    });
  }
});

test("a JetStream route gets the documented defaults", () => {
  const spec = buildRouteSpec(route("charge", handler, ...js()));
  assert.equal(spec.kind, RouteKind.JetStream);
  if (spec.kind !== RouteKind.JetStream) return;
  assert.equal(spec.durable, "charge");
  assert.equal(spec.concurrency, 1);
  assert.equal(spec.prefetch, 1);
  assert.equal(spec.maxAckPending, 1_000);
  assert.equal(spec.maxDeliver, 5);
  assert.equal(spec.ackWaitMs, 30_000);
  assert.equal(spec.errorPolicy, "retry");
  assert.equal(spec.onConsumerLost, "recreate");
  assert.equal(spec.onStreamRecreated, "consume");
  assert.equal(spec.dlq, undefined);
  assert.equal(spec.handlerTimeoutMs, undefined);
  assert.deepEqual(spec.middleware, []);
  const first = spec.backoff(1);
  assert.ok(first >= 800 && first <= 1200, `default first delay ${first} is 1s +/- 20%`);
});

test("prefetch defaults to the route's concurrency", () => {
  const spec = buildRouteSpec(route("p", handler, ...js(withConcurrency(8))));
  assert.equal(spec.kind === RouteKind.JetStream && spec.prefetch, 8);
});

test("max ack pending defaults to the server's 1000, or concurrency + prefetch when larger", () => {
  const small = buildRouteSpec(route("s", handler, ...js(withConcurrency(64))));
  assert.equal(small.kind === RouteKind.JetStream && small.maxAckPending, 1_000);
  const large = buildRouteSpec(route("l", handler, ...js(withConcurrency(800), withPrefetch(400))));
  assert.equal(large.kind === RouteKind.JetStream && large.maxAckPending, 1_200);
  const set = buildRouteSpec(route("x", handler, ...js(withConcurrency(8), withMaxAckPending(16))));
  assert.equal(set.kind === RouteKind.JetStream && set.maxAckPending, 16);
});

test("a max ack pending error names the option and the value", () => {
  const { message } = codeOf(() =>
    buildRouteSpec(route("m", handler, ...js(withMaxAckPending(2.5)))),
  );
  assert.ok(message.includes("withMaxAckPending"), message);
  assert.ok(message.includes("2.5"), message);
});

test("a core route gets a max pending of 10000 by default", () => {
  const spec = buildRouteSpec(route("fan", handler, withSubject("events.>"), withFanOut()));
  assert.equal(spec.kind, RouteKind.FanOut);
  assert.equal(spec.kind === RouteKind.FanOut && spec.maxPending, 10_000);
});

test("request-reply with a queue group is a load-balanced request route", () => {
  const spec = buildRouteSpec(
    route("rpc", handler, withSubject("svc.add"), withRequestReply(), withQueueGroup("workers")),
  );
  assert.equal(spec.kind, RouteKind.Request);
  assert.equal(spec.kind === RouteKind.Request && spec.queueGroup, "workers");
});

test("the returned spec is frozen", () => {
  const spec = buildRouteSpec(route("f", handler, ...js()));
  assert.ok(Object.isFrozen(spec));
  assert.ok(Object.isFrozen(spec.middleware));
  assert.throws(() => {
    (spec as { concurrency: number }).concurrency = 3;
  }, TypeError);
});

test("options only record: a bad value does not throw until the route is built", () => {
  const option = withConcurrency(-1);
  const r = route("later", handler, ...js(option));
  assert.throws(() => buildRouteSpec(r), { code: ErrorCode.InvalidConcurrency });
});

test("withDLQ on a request route is not supported", () => {
  const r = route("rq", handler, withSubject("svc.x"), withRequestReply(), withDLQ("dlq.x"));
  assert.throws(() => buildRouteSpec(r), { code: ErrorCode.OptionNotSupported });
});

test("withMaxDeliver on a fan-out route is not supported", () => {
  const r = route("fo", handler, withSubject("ev.x"), withFanOut(), withMaxDeliver(3));
  assert.throws(() => buildRouteSpec(r), { code: ErrorCode.OptionNotSupported });
});

test("withMaxPending on a JetStream route is not supported", () => {
  const r = route("mp", handler, ...js(withMaxPending(10)));
  assert.throws(() => buildRouteSpec(r), { code: ErrorCode.OptionNotSupported });
});

test("request-reply together with fan-out is an invalid option", () => {
  const r = route("rf", handler, withSubject("a"), withRequestReply(), withFanOut());
  assert.throws(() => buildRouteSpec(r), { code: ErrorCode.InvalidOption });
});

test("a DLQ under orders.> is a loop for a route on orders.>", () => {
  const r = route(
    "o",
    handler,
    withStream("ORDERS"),
    withSubject("orders.>"),
    withDLQ("orders.dlq"),
  );
  assert.throws(
    () => buildRouteSpec(r),
    (err) => isJetrouteError(err, ErrorCode.DLQLoop),
  );
});

test("a DLQ outside the route's subject is accepted", () => {
  const spec = buildRouteSpec(
    route("o", handler, withStream("ORDERS"), withSubject("orders.>"), withDLQ("dlq.orders")),
  );
  assert.equal(spec.kind === RouteKind.JetStream && spec.dlq, "dlq.orders");
});

test("unlimited max deliver is written as -1", () => {
  const spec = buildRouteSpec(route("u", handler, ...js(withMaxDeliver(-1))));
  assert.equal(spec.kind === RouteKind.JetStream && spec.maxDeliver, -1);
});

test("two routes with the same name are duplicates", () => {
  const a = buildRouteSpec(route("same", handler, ...js()));
  const b = buildRouteSpec(route("same", handler, withSubject("x"), withFanOut()));
  assert.throws(() => validateRouteSet([a, b]), { code: ErrorCode.DuplicateRoute });
});

test("two routes sharing a durable on one stream are duplicates", () => {
  const a = buildRouteSpec(route("a", handler, ...js(withDurable("workers"))));
  const b = buildRouteSpec(route("b", handler, ...js(withDurable("workers"))));
  assert.throws(() => validateRouteSet([a, b]), { code: ErrorCode.DuplicateRoute });
});

test("the same durable name on different streams is allowed", () => {
  const a = buildRouteSpec(
    route("a", handler, withStream("A"), withSubject("a"), withDurable("w")),
  );
  const b = buildRouteSpec(
    route("b", handler, withStream("B"), withSubject("b"), withDurable("w")),
  );
  assert.doesNotThrow(() => validateRouteSet([a, b]));
});

describe("route options given no value", () => {
  const unset = [undefined, null] as unknown as [number, number];
  const cases: [string, (v: never) => RouteOption, string][] = [
    ["withAckWait", withAckWait, ErrorCode.InvalidDuration],
    ["withIdleHeartbeat", withIdleHeartbeat, ErrorCode.InvalidDuration],
    ["withConcurrency", withConcurrency, ErrorCode.InvalidOption],
    ["withPrefetch", withPrefetch, ErrorCode.InvalidOption],
    ["withMaxDeliver", withMaxDeliver, ErrorCode.InvalidOption],
    ["withMaxAckPending", withMaxAckPending, ErrorCode.InvalidOption],
    ["withDurable", withDurable, ErrorCode.InvalidOption],
    ["withErrorPolicy", withErrorPolicy, ErrorCode.InvalidOption],
    ["withOnStreamRecreated", withOnStreamRecreated, ErrorCode.InvalidOption],
    ["withBackoff", withBackoff, ErrorCode.InvalidOption],
  ];
  for (const [option, make, code] of cases) {
    for (const value of unset) {
      test(`${option}(${String(value)}) is refused, not taken for the default`, () => {
        const r = route("r", handler, ...js(make(value as never)));
        assert.equal(codeOf(() => buildRouteSpec(r)).code, code);
      });
    }
  }
});
