import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Kvm } from "@nats-io/kv";
import { withShutdownTimeout } from "../../src/broker/index.js";
import { connect, withServers } from "../../src/conn/index.js";
import {
  ErrInvalidDuration,
  ErrInvalidOption,
  ErrOptionNotSupported,
  ErrorCode,
  ErrRouteFailed,
  isJetrouteError,
} from "../../src/errors/index.js";
import { kvInbox, withInbox } from "../../src/inbox/index.js";
import { resetDurable } from "../../src/replay/index.js";
import {
  buildRouteSpec,
  reject,
  route,
  withAckWait,
  withConcurrency,
  withDurable,
  withMaxDeliver,
  withQueueGroup,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { startTcpProxy } from "../../src/testing/index.js";
import { checkLeaksAfterAll, gate, useServer } from "../helpers/index.js";
import { jsStats, makeStream, runBroker, unique, until, useConnection } from "./engine-support.js";
import { assertEachOnce, EVENTS, exactlyOnce, publishEvents } from "./inbox-support.js";

checkLeaksAfterAll();

describe("withInbox on the NATS KV store", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /** A stream and a route on it with a KV inbox in its own bucket. */
  async function setup(name: string) {
    const stream = unique("INBOX");
    const prefix = await makeStream(conn, stream);
    return { stream, subject: `${prefix}.in`, bucket: unique(name) };
  }

  it("runs the handler once for three copies of one event and acks the other two", async () => {
    const { stream, subject, bucket } = await setup("copies");
    const runs: string[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (msg) => {
            runs.push(msg.header("Jetroute-Event-Id") ?? "");
          },
          withStream(stream),
          withSubject(subject),
          withInbox(kvInbox(conn, { bucket })),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => "order-1-placed", 3);
    await until(() => (jsStats(run.broker, "bill").inbox?.duplicates ?? 0) === 2);
    await run.stop();
    const stats = jsStats(run.broker, "bill");
    assert.deepEqual(runs, ["order-1-placed"]);
    assert.equal(stats.received, 3);
    assert.equal(stats.handled, 1);
    assert.equal(stats.acked, 1, "acked counts handled messages only");
    assert.deepEqual(stats.inbox, {
      duplicates: 2,
      busy: 0,
      takenOver: 0,
      leaseLost: 0,
      storeErrors: 0,
    });
  });

  it("holds a copy whose key another consumer is running until that run is recorded: no delivery used up", async () => {
    const { stream, subject, bucket } = await setup("busy");
    const runs: string[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (msg) => {
            runs.push(msg.header("Jetroute-Event-Id") ?? "");
            // Longer than the lease: the claim stays live because it is renewed.
            await new Promise((r) => setTimeout(r, 2_500));
          },
          withStream(stream),
          withSubject(subject),
          withConcurrency(2),
          withMaxDeliver(2),
          withInbox(kvInbox(conn, { bucket, lease: "1s" })),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => "order-7-placed", 2);
    await until(() => (jsStats(run.broker, "bill").inbox?.duplicates ?? 0) === 1);
    await run.stop();
    const stats = jsStats(run.broker, "bill");
    assert.deepEqual(runs, ["order-7-placed"]);
    // The waiting copy was acked on its first delivery: never nak'd, never redelivered.
    assert.equal(stats.received, 2);
    assert.equal(stats.nakd, 0);
    assert.equal(stats.deadLettered, 0);
    assert.equal(stats.inbox?.busy, 1);
  });

  it("runs the handler once when the same stored message is delivered three times", async () => {
    // Each restart finds the durable rewound to the message (as after a crash before the ack
    // reached the server): the key is `<stream>:<sequence>`, the same on every delivery.
    const { stream, subject, bucket } = await setup("redelivered");
    let runs = 0;
    const store = kvInbox(conn, { bucket });
    const bill = route(
      "bill",
      async () => {
        runs++;
      },
      withStream(stream),
      withSubject(subject),
      withInbox(store),
    );
    await conn.jetstream.publish(subject, "{}");
    for (let delivery = 1; delivery <= 3; delivery++) {
      if (delivery > 1) await resetDurable(conn, stream, "bill", { to: 1 });
      const run = runBroker(conn, (b) => b.register(bill));
      await run.broker.started();
      await until(() => jsStats(run.broker, "bill").received === 1);
      await until(() => {
        const s = jsStats(run.broker, "bill");
        return s.acked + (s.inbox?.duplicates ?? 0) === 1;
      });
      await run.stop();
      assert.equal(jsStats(run.broker, "bill").inbox?.duplicates, delivery === 1 ? 0 : 1);
    }
    assert.equal(runs, 1);
  });

  it("counts each of two brokers' events exactly once under forced redeliveries", async () => {
    const counts = new Map<string, number>();
    const bucket = unique("race");
    const result = await exactlyOnce({
      url: server.url,
      store: (c) => kvInbox(c, { bucket, lease: "3s" }),
      events: EVENTS,
      effect: async (id) => {
        counts.set(id, (counts.get(id) ?? 0) + 1);
      },
    });
    assertEachOnce(counts, EVENTS);
    // The second copies were raced or found done; some slow first runs were found busy.
    assert.ok(result.inbox.duplicates >= EVENTS, `duplicates ${result.inbox.duplicates}`);
    assert.equal(result.inbox.storeErrors, 0);
    assert.equal(result.inbox.leaseLost, 0);
    console.log(
      `kv exactly-once: ${EVENTS} events (${result.messages} messages, ${result.deliveries} deliveries) in ${Math.round(result.ms)} ms`,
      result.inbox,
    );
  });

  it("takes over a claim after its lease when its holder is cut off, and runs the handler there once", async () => {
    const { stream, subject, bucket } = await setup("takeover");
    const proxy = await startTcpProxy(server.url);
    const cutOff = await connect(withServers(proxy.url));
    const effects: string[] = [];
    const holding = gate();
    const bill = (who: string) =>
      route(
        "bill",
        async (_msg, ctx) => {
          if (who === "a") {
            holding.open();
            // Hangs until its broker gives up on it: its process is about to be cut off.
            await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
            throw ctx.signal.reason;
          }
          effects.push(who);
        },
        withStream(stream),
        withSubject(subject),
        withDurable("bill"),
        withAckWait("1s"),
        withMaxDeliver(-1),
        withInbox(kvInbox({ bucket, lease: "1s" })),
      );
    const a = runBroker(cutOff, (b) => b.register(bill("a")), withShutdownTimeout("200ms"));
    await a.broker.started();
    await conn.jetstream.publish(subject, "{}");
    await holding.promise;
    proxy.blackhole(); // a's claim can no longer be renewed, nor its message acked
    const b = runBroker(conn, (br) => br.register(bill("b")));
    await b.broker.started();
    await until(() => effects.length === 1);
    // Counted once the run is recorded (its done marker written), a moment after the effect.
    await until(() => (jsStats(b.broker, "bill").inbox?.takenOver ?? 0) === 1);
    assert.deepEqual(effects, ["b"]);
    await b.stop();
    await proxy.close();
    await cutOff.close();
    await a.stop();
    assert.deepEqual(effects, ["b"], "the cut-off handler never recorded an effect");
  });

  it("acks a handler that finishes after its claim was taken over and counts the lost lease", async () => {
    const { stream, subject, bucket } = await setup("lost");
    const proxy = await startTcpProxy(server.url);
    const cutOff = await connect(withServers(proxy.url));
    const effects: string[] = [];
    const holding = gate();
    const release = gate();
    const bill = (who: string) =>
      route(
        "bill",
        async () => {
          if (who === "a") {
            holding.open();
            await release.promise;
          }
          effects.push(who);
        },
        withStream(stream),
        withSubject(subject),
        withDurable("bill"),
        withAckWait("1s"),
        withMaxDeliver(-1),
        withInbox(kvInbox({ bucket, lease: "1s" })),
      );
    const a = runBroker(cutOff, (b) => b.register(bill("a")));
    await a.broker.started();
    await conn.jetstream.publish(subject, "{}");
    await holding.promise;
    proxy.blackhole();
    const b = runBroker(conn, (br) => br.register(bill("b")));
    await b.broker.started();
    await until(() => effects.length === 1);
    proxy.resume();
    release.open(); // a finishes after b took its claim over
    await until(() => (jsStats(a.broker, "bill").inbox?.leaseLost ?? 0) === 1);
    assert.deepEqual(
      effects,
      ["b", "a"],
      "a stalled holder's effect runs twice: the documented limit",
    );
    await until(() => jsStats(a.broker, "bill").acked === 1);
    await Promise.all([a.stop(), b.stop()]);
    await cutOff.close();
    await proxy.close();
  });

  it("releases the claim of a failed handler so that its retry runs", async () => {
    const { stream, subject, bucket } = await setup("retry");
    let runs = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async () => {
            runs++;
            if (runs === 1) throw new Error("payment service down");
          },
          withStream(stream),
          withSubject(subject),
          withInbox(kvInbox(conn, { bucket })),
        ),
      ),
    );
    await run.broker.started();
    await conn.jetstream.publish(subject, "{}");
    await until(() => jsStats(run.broker, "bill").acked === 1);
    await run.stop();
    assert.equal(runs, 2);
    assert.equal(jsStats(run.broker, "bill").inbox?.busy, 0, "released, not left to expire");
  });

  it("dead-letters a rejected message and lets a later copy run again", async () => {
    const { stream, subject, bucket } = await setup("reject");
    let runs = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async () => {
            runs++;
            return runs === 1 ? reject("card declined") : undefined;
          },
          withStream(stream),
          withSubject(subject),
          withInbox(kvInbox(conn, { bucket })),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => "order-9", 1);
    await until(() => jsStats(run.broker, "bill").deadLettered === 1);
    await publishEvents(conn, subject, 1, () => "order-9", 1);
    await until(() => jsStats(run.broker, "bill").acked === 1);
    await run.stop();
    assert.equal(runs, 2);
  });

  it("uses the route's key function", async () => {
    const { stream, subject, bucket } = await setup("keyfn");
    const runs: string[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (msg) => {
            runs.push(msg.json<{ order: string }>().order);
          },
          withStream(stream),
          withSubject(subject),
          withInbox(kvInbox(conn, { bucket }), {
            key: (msg) => `order/${msg.json<{ order: string }>().order}`,
          }),
        ),
      ),
    );
    await run.broker.started();
    for (const order of ["a.1", "b:2", "a.1", "ü 3", "b:2"]) {
      await conn.jetstream.publish(subject, JSON.stringify({ order }));
    }
    await until(() => jsStats(run.broker, "bill").received === 5);
    await until(() => {
      const s = jsStats(run.broker, "bill");
      return s.acked + (s.inbox?.duplicates ?? 0) === 5;
    });
    await run.stop();
    assert.deepEqual(runs, ["a.1", "b:2", "ü 3"]);
  });

  it("keeps keys of two durables apart: each runs the event once", async () => {
    const { stream, subject, bucket } = await setup("durables");
    const runs: string[] = [];
    const store = kvInbox(conn, { bucket });
    const run = runBroker(conn, (b) => {
      for (const name of ["billing", "shipping"]) {
        b.register(
          route(
            name,
            async () => {
              runs.push(name);
            },
            withStream(stream),
            withSubject(subject),
            withInbox(store),
          ),
        );
      }
    });
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => "order-1", 2);
    await until(() => runs.length === 2);
    await until(() => (jsStats(run.broker, "shipping").inbox?.duplicates ?? 0) === 1);
    await until(() => (jsStats(run.broker, "billing").inbox?.duplicates ?? 0) === 1);
    await run.stop();
    assert.deepEqual(runs.sort(), ["billing", "shipping"]);
  });

  it("creates its bucket with the ttl as max_age and one value per key", async () => {
    const { stream, subject, bucket } = await setup("created");
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async () => {},
          withStream(stream),
          withSubject(subject),
          withInbox(kvInbox(conn, { bucket, ttl: "2h", lease: "10s" })),
        ),
      ),
    );
    await run.broker.started();
    await run.stop();
    const status = await (await new Kvm(conn.jetstream).open(bucket)).status();
    assert.equal(status.ttl, 2 * 3_600_000);
    assert.equal(status.history, 1);
  });

  it("fails the route at start when the bucket exists with another ttl", async () => {
    const { stream, subject, bucket } = await setup("conflict");
    await new Kvm(conn.jetstream).create(bucket, { ttl: 60_000 });
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async () => {},
          withStream(stream),
          withSubject(subject),
          withInbox(kvInbox(conn, { bucket, ttl: "2h" })),
        ),
      ),
    );
    const err = await run.done.then(
      () => assert.fail("expected the route to fail"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ErrRouteFailed);
    assert.ok(isJetrouteError(err, "ERR_INBOX_STORE_CONFLICT"), String(err));
  });

  it("fails the route at start when an existing bucket's max_age is not longer than the lease", async () => {
    const { stream, subject, bucket } = await setup("short");
    await new Kvm(conn.jetstream).create(bucket, { ttl: 5_000 });
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async () => {},
          withStream(stream),
          withSubject(subject),
          withInbox(kvInbox(conn, { bucket, lease: "5s" })),
        ),
      ),
    );
    const err = await run.done.then(
      () => assert.fail("expected the route to fail"),
      (e: unknown) => e,
    );
    assert.ok(isJetrouteError(err, ErrorCode.InboxStoreConflict), String(err));
  });
});

describe("withInbox options", () => {
  it("throws typed errors for bad kvInbox options", () => {
    const cases: [() => unknown, new (...a: never[]) => Error][] = [
      [() => kvInbox({ bucket: "no.dots" }), ErrInvalidOption],
      [() => kvInbox({ bucket: "" }), ErrInvalidOption],
      [() => kvInbox({ lease: "500ms" }), ErrInvalidDuration],
      [() => kvInbox({ lease: "-1s" as never }), ErrInvalidDuration],
      [() => kvInbox({ ttl: "30s", lease: "30s" }), ErrInvalidDuration],
      [() => kvInbox({ ttl: "soon" as never }), ErrInvalidDuration],
      [() => kvInbox({ bukket: "x" } as never), ErrInvalidOption],
      [() => kvInbox("inbox" as never), ErrInvalidOption],
    ];
    for (const [make, Err] of cases) assert.throws(make, Err, String(make));
  });

  it("refuses withInbox on core routes", () => {
    for (const kind of [withRequestReply(), withQueueGroup("workers")]) {
      assert.throws(
        () =>
          buildRouteSpec(
            route("svc", async () => {}, withSubject("a.b"), kind, withInbox(kvInbox())),
          ),
        ErrOptionNotSupported,
      );
    }
  });

  it("refuses a store that is not one, a bad key function and unknown options", () => {
    const base = [withStream("S"), withSubject("s.a")] as const;
    const bad = [
      withInbox(undefined as never),
      withInbox({ kind: "x" } as never),
      withInbox(kvInbox(), { key: "event_id" as never }),
      withInbox(kvInbox(), { keyFn: () => "k" } as never),
    ];
    for (const option of bad) {
      assert.throws(
        () => buildRouteSpec(route("r", async () => {}, ...base, option)),
        ErrInvalidOption,
      );
    }
    const spec = buildRouteSpec(route("r", async () => {}, ...base, withInbox(kvInbox())));
    assert.ok(spec.kind === "jetstream" && spec.inbox !== undefined);
  });
});
