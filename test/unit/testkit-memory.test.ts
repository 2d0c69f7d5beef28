// The in-memory broker of jetroute/testing: what only it has (a clock the test moves, crash,
// inspection). What it shares with a real server is proven by test/conformance/suite.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import { ErrorCode, isJetrouteError } from "../../src/errors/index.js";
import {
  fixed,
  type RouteOption,
  reject,
  retry,
  route,
  withAckWait,
  withBackoff,
  withConcurrency,
  withDLQ,
  withFanOut,
  withMaxDeliver,
  withPrefetch,
  withQueueGroup,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import type { Handler } from "../../src/router/types.js";
import { manualClock, memoryBroker } from "../../src/testing/index.js";
import { gate, until } from "../helpers/index.js";

function orders(handler: Handler, ...options: RouteOption[]) {
  return route(
    "orders",
    handler,
    withStream("ORDERS"),
    withSubject("orders.*"),
    withDLQ("dlq.orders"),
    ...options,
  );
}

describe("memoryBroker: time", () => {
  it("delivers a nak'd message again only when the clock reaches its delay", async () => {
    const seen: number[] = [];
    const broker = memoryBroker({ clock: manualClock(0) });
    broker.register(
      orders(async (m) => {
        seen.push(m.deliveryCount);
        return m.deliveryCount === 1 ? retry({ delay: "5s" }) : undefined;
      }),
    );
    broker.start();
    await broker.publish("orders.created", { id: 1 });
    await broker.idle();
    assert.deepEqual(seen, [1]);
    assert.deepEqual(
      broker.messages("orders").map((m) => [m.state, m.dueAt]),
      [["delayed", 5000]],
    );
    await broker.clock.advance(4999);
    await broker.idle();
    assert.deepEqual(seen, [1]);
    await broker.clock.advance(1);
    await broker.idle();
    assert.deepEqual(seen, [1, 2]);
    assert.equal(broker.acked("orders").length, 1);
    await broker.stop();
  });

  it("redelivers the messages of a crashed run after ack wait on the clock", async () => {
    const hold = gate();
    const seen: number[] = [];
    const broker = memoryBroker();
    broker.register(
      orders(async (m) => {
        seen.push(m.deliveryCount);
        if (m.deliveryCount === 1) await hold.promise;
      }, withAckWait("10s")),
    );
    broker.start();
    await broker.publish("orders.created", "x");
    await until(() => seen.length === 1);
    broker.crash();
    hold.open();
    broker.start();
    await broker.idle();
    assert.deepEqual(
      broker.pending("orders").map((m) => m.state),
      ["unacked"],
    );
    await broker.clock.advance("10s");
    await broker.idle();
    assert.deepEqual(seen, [1, 2]);
    assert.equal(broker.acked("orders").length, 1);
    await broker.stop();
  });

  it("runs through every retry to the dead letter with settled()", async () => {
    const broker = memoryBroker();
    broker.register(orders(async () => retry(), withMaxDeliver(4), withBackoff(fixed("1m"))));
    broker.start();
    const start = broker.clock.now();
    await broker.publish("orders.created", "x");
    await broker.settled();
    assert.equal(broker.clock.now() - start, 3 * 60_000);
    assert.equal(broker.deadLetters("dlq.orders").length, 1);
    assert.equal(broker.deadLetters()[0]?.header(DeadLetterHeader.DeliveryCount), "4");
    await broker.stop();
  });

  it("gives up with ErrNotSettled on a message retried for ever", async () => {
    const broker = memoryBroker();
    broker.register(orders(async () => retry(), withMaxDeliver(-1)));
    broker.start();
    await broker.publish("orders.created", "x");
    await assert.rejects(broker.settled({ maxAdvances: 5 }), (e) =>
      isJetrouteError(e, ErrorCode.NotSettled),
    );
    await broker.stop();
  });
});

describe("memoryBroker: stop", () => {
  it("refuses settled() when messages are left and the broker is not running", async () => {
    const broker = memoryBroker();
    broker.register(orders(async () => undefined));
    await broker.publish("orders.created", "x");
    await assert.rejects(broker.settled(), (e) => isJetrouteError(e, ErrorCode.NotSettled));
    assert.deepEqual(
      broker.pending("orders").map((m) => [m.state, m.deliveryCount]),
      [["pending", 0]],
    );
  });

  it("releases a buffered message at stop, so its next delivery counts one more", async () => {
    const hold = gate();
    const seen: string[] = [];
    const broker = memoryBroker();
    broker.register(
      orders(
        async (m) => {
          seen.push(`${m.string()}#${m.deliveryCount}`);
          await hold.promise;
        },
        withConcurrency(1),
        withPrefetch(1),
      ),
    );
    broker.start();
    await broker.publish("orders.created", "a");
    await broker.publish("orders.created", "b");
    await until(() => seen.length === 1);
    const stopping = broker.stop();
    hold.open();
    await stopping;
    assert.equal(broker.stats("orders").released, 1);
    broker.start();
    await broker.settled();
    assert.deepEqual(seen, ["a#1", "b#2"]);
    await broker.stop();
  });

  it("aborts a handler still running at the shutdown timeout and releases its message", async () => {
    const reasons: unknown[] = [];
    const broker = memoryBroker({ shutdownTimeout: 20 });
    broker.register(
      orders(
        (_m, ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener(
              "abort",
              () => {
                reasons.push(ctx.signal.reason);
                resolve(undefined);
              },
              { once: true },
            );
          }),
      ),
    );
    broker.start();
    await broker.publish("orders.created", "x");
    await until(() => broker.stats("orders").inFlight === 1);
    await broker.stop();
    assert.ok(isJetrouteError(reasons[0], ErrorCode.ShutdownTimeout));
    assert.equal(broker.stats("orders").released, 1);
    assert.deepEqual(
      broker.pending("orders").map((m) => [m.state, m.deliveryCount]),
      [["pending", 1]],
    );
  });
});

describe("memoryBroker: streams and routes", () => {
  it("runs at most concurrency handlers at once", async () => {
    let running = 0;
    let most = 0;
    const broker = memoryBroker();
    broker.register(
      orders(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      }, withConcurrency(3)),
    );
    broker.start();
    for (let i = 0; i < 10; i++) await broker.publish("orders.created", i);
    await broker.settled();
    assert.equal(most, 3);
    assert.equal(broker.acked("orders").length, 10);
    await broker.stop();
  });

  it("refuses a publish no stream stores, as JetStream does", async () => {
    const broker = memoryBroker();
    broker.register(orders(async () => undefined));
    await assert.rejects(broker.publish("payments.created", "x"), (e) =>
      isJetrouteError(e, ErrorCode.NoResponders),
    );
  });

  it("gives a message a handler published through ctx.producer to the route consuming it", async () => {
    const shipped: unknown[] = [];
    const broker = memoryBroker();
    broker.register(
      orders(async (m, ctx) => {
        await ctx.producer.publishJetStream("shipments.created", m.json());
      }),
      route(
        "shipments",
        async (m) => {
          shipped.push(m.json());
        },
        withStream("SHIPMENTS"),
        withSubject("shipments.created"),
      ),
    );
    broker.start();
    await broker.publish("orders.created", { id: 3 });
    await broker.settled();
    assert.deepEqual(shipped, [{ id: 3 }]);
    assert.equal(broker.producer.published.length, 1);
    await broker.stop();
  });

  it("answers requests with the request route's reply, also through ctx.producer", async () => {
    const broker = memoryBroker();
    broker.register(
      route(
        "price",
        async (m) => {
          const { sku } = m.json<{ sku: string }>();
          return sku === "apple" ? { cents: 45 } : reject("unknown sku", { code: 404 });
        },
        withSubject("price.get"),
        withRequestReply(),
      ),
    );
    await assert.rejects(broker.request("price.get", { sku: "apple" }), (e) =>
      isJetrouteError(e, ErrorCode.NoResponders),
    );
    broker.start();
    const ok = await broker.request("price.get", { sku: "apple" });
    assert.deepEqual(ok.kind === "data" && ok.value, { cents: 45 });
    const missing = await broker.request("price.get", { sku: "durian" });
    assert.deepEqual(missing, { kind: "error", code: 404, description: "unknown sku" });
    await assert.rejects(broker.producer.request("price.get", { sku: "durian" }), (e) =>
      isJetrouteError(e, ErrorCode.ServiceError),
    );
    await assert.rejects(broker.request("nobody.home"), (e) =>
      isJetrouteError(e, ErrorCode.NoResponders),
    );
    await broker.stop();
  });

  it("runs every fan-out route and one route per queue group on a core publish", async () => {
    const seen: string[] = [];
    const record =
      (name: string): Handler =>
      async (m) => {
        seen.push(`${name}:${m.string()}`);
      };
    const broker = memoryBroker();
    broker.register(
      route("fan-a", record("fan-a"), withSubject("prices"), withFanOut()),
      route("fan-b", record("fan-b"), withSubject("prices"), withFanOut()),
      route("q-1", record("q-1"), withSubject("prices"), withQueueGroup("workers")),
      route("q-2", record("q-2"), withSubject("prices"), withQueueGroup("workers")),
      orders(async (_m, ctx) => {
        // The producer JSON-encodes what is not bytes, as the real one does.
        ctx.producer.publish("prices", "from-handler");
      }),
    );
    broker.start();
    broker.publishCore("prices", "p1");
    await broker.idle();
    assert.deepEqual(seen.sort(), ["fan-a:p1", "fan-b:p1", "q-1:p1"]);
    seen.length = 0;
    await broker.publish("orders.created", "x");
    await broker.settled();
    assert.deepEqual(seen.sort(), [
      'fan-a:"from-handler"',
      'fan-b:"from-handler"',
      'q-1:"from-handler"',
    ]);
    await broker.stop();
  });

  it("gives dead letters to a route consuming the DLQ subject", async () => {
    const reasons: (string | undefined)[] = [];
    const broker = memoryBroker();
    broker.register(
      orders(async () => reject("no stock")),
      route(
        "dlq-watch",
        async (m) => {
          reasons.push(m.header(DeadLetterHeader.Error));
        },
        withStream("DLQ"),
        withSubject("dlq.orders"),
      ),
    );
    broker.start();
    await broker.publish("orders.created", "x");
    await broker.settled();
    assert.deepEqual(reasons, ["no stock"]);
    await broker.stop();
  });

  it("refuses routes the Broker refuses, and registering while running", () => {
    const broker = memoryBroker();
    const r = orders(async () => undefined);
    broker.register(r);
    assert.throws(
      () => broker.register(r),
      (e) => isJetrouteError(e, ErrorCode.DuplicateRoute),
    );
    broker.start();
    assert.throws(
      () => broker.register(route("x", async () => undefined, withStream("X"), withSubject("x"))),
      (e) => isJetrouteError(e, ErrorCode.BrokerRunning),
    );
    return broker.stop();
  });
});
