// The conformance suite: one set of behaviours, run on every TestBackend (the in-memory broker
// and a real nats-server), so both must give the same outcomes. Each test makes its own
// backend with unique stream and subject names, so tests may share one server.
import assert from "node:assert/strict";
import { it } from "node:test";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import { ErrorCode, isJetrouteError } from "../../src/errors/index.js";
import {
  fixed,
  type RouteOption,
  reject,
  retry,
  route,
  withBackoff,
  withConcurrency,
  withDLQ,
  withErrorPolicy,
  withHandlerTimeout,
  withMaxDeliver,
  withOnError,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import type { Handler } from "../../src/router/types.js";
import type { TestBackend } from "../../src/testing/index.js";
import { gate, until } from "../helpers/index.js";

let counter = 0;

/** Unique stream, subject and DLQ names for one test. */
function names(what: string) {
  counter++;
  const id = `${what}_${process.pid}_${counter}`;
  return {
    stream: id.toUpperCase(),
    subject: `${id}.created`,
    dlq: `dlq_${id}.dead`,
    route: `r_${id}`,
  };
}

/** A route on fresh names, with small delays so a real server stays fast. */
function makeRoute(what: string, handler: Handler, ...options: RouteOption[]) {
  const n = names(what);
  const r = route(
    n.route,
    handler,
    withStream(n.stream),
    withSubject(n.subject),
    withDLQ(n.dlq),
    withBackoff(fixed("50ms")),
    ...options,
  );
  return { ...n, r };
}

/** What a handler saw on each delivery. */
interface Call {
  readonly deliveryCount: number;
  readonly at: number;
}

/**
 * Defines the conformance tests in the current `describe`. `make` returns a fresh, unstarted
 * backend; each test disposes of its own.
 */
export function conformanceSuite(make: () => TestBackend): void {
  /** Runs `body` on a started backend with `routes`, then disposes of it. */
  async function withBackend(
    routes: Parameters<TestBackend["register"]>,
    body: (b: TestBackend) => Promise<void>,
  ): Promise<void> {
    const b = make();
    try {
      b.register(...routes);
      await b.start();
      await body(b);
    } finally {
      await b.dispose();
    }
  }

  it("acks a handled message once", async () => {
    const calls: Call[] = [];
    const t = makeRoute("ack", async (m) => {
      calls.push({ deliveryCount: m.deliveryCount, at: 0 });
    });
    await withBackend([t.r], async (b) => {
      await b.publish(t.subject, { id: 1 });
      await b.settled();
      assert.deepEqual(
        calls.map((c) => c.deliveryCount),
        [1],
      );
      const s = b.stats(t.route);
      assert.equal(s.acked, 1);
      assert.equal(s.nakd, 0);
      assert.equal(await b.unsettled(t.route), 0);
      assert.deepEqual(await b.deadLetters(), []);
    });
  });

  it("delivers a backlog published before start() once the routes start", async () => {
    const seen: number[] = [];
    const t = makeRoute("backlog", async (m) => {
      seen.push(m.json<{ id: number }>().id);
    });
    const b = make();
    try {
      b.register(t.r);
      for (const id of [1, 2, 3]) await b.publish(t.subject, { id });
      await b.start();
      await b.settled();
      assert.deepEqual(seen, [1, 2, 3]);
      assert.equal(b.stats(t.route).acked, 3);
    } finally {
      await b.dispose();
    }
  });

  it("runs a retried message again with deliveryCount + 1 after the nak delay", async () => {
    const calls: Call[] = [];
    let now = (): number => 0;
    const t = makeRoute("retry", async (m) => {
      calls.push({ deliveryCount: m.deliveryCount, at: now() });
      return m.deliveryCount === 1 ? retry({ delay: "200ms" }) : undefined;
    });
    await withBackend([t.r], async (b) => {
      now = () => b.now();
      await b.publish(t.subject, "x");
      await b.settled();
      assert.deepEqual(
        calls.map((c) => c.deliveryCount),
        [1, 2],
      );
      const [first, second] = calls;
      assert.ok(first && second && second.at - first.at >= 200, "redelivered before the delay");
      const s = b.stats(t.route);
      assert.equal(s.nakd, 1);
      assert.equal(s.acked, 1);
    });
  });

  it("dead-letters a failing message after maxDeliver deliveries, with the reason and trace headers", async () => {
    const calls: number[] = [];
    const t = makeRoute(
      "fail",
      async (m) => {
        calls.push(m.deliveryCount);
        throw new Error("db down");
      },
      withMaxDeliver(3),
    );
    await withBackend([t.r], async (b) => {
      const ack = await b.publish(t.subject, { id: 7 }, { headers: { "X-Order": "7" } });
      await b.settled();
      assert.deepEqual(calls, [1, 2, 3]);
      const dead = await b.deadLetters();
      assert.equal(dead.length, 1);
      const [d] = dead;
      assert.ok(d);
      assert.equal(d.subject, t.dlq);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(d.data)), { id: 7 });
      assert.equal(d.header("X-Order"), "7");
      assert.equal(d.header(DeadLetterHeader.Route), t.route);
      assert.equal(d.header(DeadLetterHeader.Durable), t.route);
      assert.equal(d.header(DeadLetterHeader.OriginalSubject), t.subject);
      assert.equal(d.header(DeadLetterHeader.Stream), t.stream);
      assert.equal(d.header(DeadLetterHeader.Sequence), String(ack.seq));
      assert.equal(d.header(DeadLetterHeader.DeliveryCount), "3");
      assert.ok(d.header(DeadLetterHeader.Error)?.includes("db down"), "the error is the reason");
      const s = b.stats(t.route);
      assert.equal(s.nakd, 2);
      assert.equal(s.deadLettered, 1);
      assert.equal(await b.unsettled(t.route), 0);
    });
  });

  it("dead-letters a rejected message on its first delivery, with the handler's reason", async () => {
    const calls: number[] = [];
    const t = makeRoute("reject", async (m) => {
      calls.push(m.deliveryCount);
      return reject("bad order");
    });
    await withBackend([t.r], async (b) => {
      await b.publish(t.subject, "x");
      await b.settled();
      assert.deepEqual(calls, [1]);
      const dead = await b.deadLetters();
      assert.equal(dead.length, 1);
      assert.equal(dead[0]?.header(DeadLetterHeader.Error), "bad order");
      assert.equal(dead[0]?.header(DeadLetterHeader.DeliveryCount), "1");
    });
  });

  it("dead-letters a thrown error at once under errorPolicy terminate", async () => {
    const calls: number[] = [];
    const t = makeRoute(
      "terminate",
      async (m) => {
        calls.push(m.deliveryCount);
        throw new Error("not retryable");
      },
      withErrorPolicy("terminate"),
    );
    await withBackend([t.r], async (b) => {
      await b.publish(t.subject, "x");
      await b.settled();
      assert.deepEqual(calls, [1]);
      assert.equal((await b.deadLetters()).length, 1);
      assert.equal(b.stats(t.route).nakd, 0);
    });
  });

  it("fails a handler that outlives its timeout, passing ErrHandlerTimeout to onError", async () => {
    const errors: unknown[] = [];
    const t = makeRoute(
      "timeout",
      (_m, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => resolve(undefined), { once: true });
        }),
      withHandlerTimeout("100ms"),
      withErrorPolicy("terminate"),
      withOnError((err) => {
        errors.push(err);
      }),
    );
    await withBackend([t.r], async (b) => {
      await b.publish(t.subject, "x");
      await b.settled();
      assert.equal(errors.length, 1);
      assert.ok(isJetrouteError(errors[0], ErrorCode.HandlerTimeout));
      assert.equal((await b.deadLetters()).length, 1);
    });
  });

  it("lets the in-flight handler finish and ack at stop, and leaves the unstarted message unsettled", async () => {
    const hold = gate();
    const calls: number[] = [];
    const t = makeRoute(
      "drain",
      async (m) => {
        calls.push(m.deliveryCount);
        await hold.promise;
      },
      withConcurrency(1),
    );
    await withBackend([t.r], async (b) => {
      await b.publish(t.subject, "first");
      await until(() => calls.length === 1);
      await b.publish(t.subject, "second");
      const stopping = b.stop();
      hold.open();
      await stopping;
      assert.deepEqual(calls, [1]);
      assert.equal(b.stats(t.route).acked, 1);
      assert.equal(await b.unsettled(t.route), 1);
    });
  });

  it("stores a message published twice with one msgId once", async () => {
    const calls: number[] = [];
    const t = makeRoute("dedup", async (m) => {
      calls.push(m.deliveryCount);
    });
    await withBackend([t.r], async (b) => {
      const first = await b.publish(t.subject, "x", { msgId: "order-1" });
      const second = await b.publish(t.subject, "x", { msgId: "order-1" });
      assert.equal(first.duplicate, false);
      assert.equal(second.duplicate, true);
      assert.equal(second.seq, first.seq);
      await b.settled();
      assert.deepEqual(calls, [1]);
    });
  });
}
