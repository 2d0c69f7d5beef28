// withMetrics / withPublishMetrics: the Prometheus metrics a scrape sees after a known run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  Broker,
  createProducer,
  ErrPublishFailed,
  fixed,
  route,
  withBackoff,
  withConcurrency,
  withConnection,
  withDLQ,
  withFanOut,
  withHealthInterval,
  withMaxDeliver,
  withMaxPending,
  withMetrics,
  withOnPublish,
  withPrefetch,
  withPublishMetrics,
  withPublishRetries,
  withRequestReply,
  withRetryBackoff,
  withShutdownTimeout,
  withStream,
  withSubject,
} from "../../src/index.js";
import { checkLeaksAfterAll, gate, until, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  jsStats,
  makeStream,
  publishMany,
  runBroker,
  unique,
  useConnection,
} from "./engine-support.js";
import { sample } from "./metrics-support.js";

checkLeaksAfterAll();

describe("withMetrics", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("counts a run of 5 successes, 1 retried success and 1 dead letter exactly", async () => {
    const stream = unique("METRICS");
    const dlq = `${stream.toLowerCase()}_dlq`;
    const prefix = await makeStream(conn, stream, dlq);
    const registry = new Registry();
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "svc",
            async (msg) => {
              const { kind } = msg.json<{ kind: string }>();
              if (kind === "poison") throw new Error("always fails");
              if (kind === "flaky" && msg.deliveryCount === 1) throw new Error("fails once");
            },
            withStream(stream),
            withSubject(`${prefix}.a`),
            withMaxDeliver(3),
            withBackoff(fixed("20ms")),
            withDLQ(dlq),
          ),
        ),
      withMetrics({ registry }),
    );
    await run.broker.started();
    for (const kind of ["ok", "ok", "flaky", "ok", "poison", "ok", "ok"]) {
      await conn.jetstream.publish(`${prefix}.a`, JSON.stringify({ kind }));
    }
    await until(() => {
      const s = jsStats(run.broker, "svc");
      return s.acked === 6 && s.deadLettered === 1;
    });
    const running = await registry.metrics();
    await run.stop();
    const stopped = await registry.metrics();

    const svc = { route: "svc", stream };
    for (const text of [running, stopped]) {
      assert.equal(sample(text, "jetroute_messages_received_total", svc), 10);
      assert.equal(
        sample(text, "jetroute_messages_settled_total", { ...svc, outcome: "acked" }),
        6,
      );
      assert.equal(
        sample(text, "jetroute_messages_settled_total", { ...svc, outcome: "retried" }),
        3,
      );
      assert.equal(
        sample(text, "jetroute_messages_settled_total", { ...svc, outcome: "dead_lettered" }),
        1,
      );
      assert.equal(
        sample(text, "jetroute_messages_settled_total", { ...svc, outcome: "released" }),
        0,
      );
      for (const [outcome, n] of [
        ["acked", 6],
        ["retried", 3],
        ["dead_lettered", 1],
      ] as const) {
        assert.equal(
          sample(text, "jetroute_handler_duration_seconds_count", { ...svc, outcome }),
          n,
          outcome,
        );
      }
    }
    assert.equal(sample(running, "jetroute_route_running", { route: "svc" }), 1);
    assert.equal(sample(running, "jetroute_connection_connected"), 1);
    assert.equal(sample(running, "jetroute_messages_in_flight", svc), 0);
    // A stopped broker's gauges go; its counters stay.
    assert.equal(sample(stopped, "jetroute_route_running", { route: "svc" }), undefined);
    assert.equal(sample(stopped, "jetroute_messages_in_flight", svc), undefined);
  });

  it("counts a handler that outlives the shutdown as abandoned, so the outcomes add up to received", async () => {
    const stream = unique("METRICS");
    const prefix = await makeStream(conn, stream);
    const registry = new Registry();
    const release = gate();
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          // Ignores ctx.signal: the shutdown abandons it (PULL.abandonAfterMs after the grace).
          route("stubborn", () => release.promise, withStream(stream), withSubject(`${prefix}.a`)),
        ),
      withMetrics({ registry }),
      withShutdownTimeout("50ms"),
    );
    await run.broker.started();
    await conn.jetstream.publish(`${prefix}.a`, "x");
    await until(() => jsStats(run.broker, "stubborn").inFlight === 1);
    await run.stop();
    const labels = { route: "stubborn", stream };
    const settled = (text: string, outcome: string) =>
      sample(text, "jetroute_messages_settled_total", { ...labels, outcome });
    const stopped = await registry.metrics();
    assert.equal(sample(stopped, "jetroute_messages_received_total", labels), 1);
    assert.equal(settled(stopped, "abandoned"), 1);
    assert.equal(settled(stopped, "released"), 0);
    // When the abandoned handler finally returns, its time is recorded under the same outcome.
    release.open();
    await until(
      async () =>
        sample(await registry.metrics(), "jetroute_handler_duration_seconds_count", {
          ...labels,
          outcome: "abandoned",
        }) === 1,
    );
  });

  it("counts requests shed at overload as dropped, so a core route's outcomes add up to received", async () => {
    const subject = unique("metrics.svc");
    const registry = new Registry();
    const release = gate();
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "svc",
            async () => {
              await release.promise;
              return { ok: true };
            },
            withSubject(subject),
            withRequestReply(),
            withConcurrency(1),
            withMaxPending(1),
          ),
        ),
      withMetrics({ registry }),
    );
    await run.broker.started();
    const producer = createProducer(conn);
    const requests = Array.from({ length: 6 }, () =>
      producer.request(subject, {}, { timeoutMs: 5_000 }).then(
        () => "ok",
        () => "refused",
      ),
    );
    await until(() => {
      const s = run.broker.stats().svc;
      return s !== undefined && "dropped" in s && s.dropped === 4;
    });
    release.open();
    assert.deepEqual((await Promise.all(requests)).sort(), [
      "ok",
      "ok",
      "refused",
      "refused",
      "refused",
      "refused",
    ]);
    const text = await registry.metrics();
    const labels = { route: "svc", stream: "" };
    const settled = (outcome: string) =>
      sample(text, "jetroute_messages_settled_total", { ...labels, outcome });
    assert.equal(sample(text, "jetroute_messages_received_total", labels), 6);
    assert.equal(settled("ok"), 2);
    assert.equal(settled("dropped"), 4);
    assert.equal(settled("error"), 0);
  });

  it("reports the durable's lag as consumer info's num_pending after publishing N without consuming", async () => {
    const stream = unique("METRICS");
    const prefix = await makeStream(conn, stream);
    const registry = new Registry();
    const hold = gate();
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "svc",
            async () => {
              await hold.promise;
            },
            withStream(stream),
            withSubject(`${prefix}.a`),
            withConcurrency(1),
            withPrefetch(1),
          ),
        ),
      withMetrics({ registry }),
      withHealthInterval("100ms"),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 20);
    const published = new Date();
    await until(async () => {
      const lag = (await run.broker.health()).routes.svc?.consumer;
      return lag !== undefined && lag.readAt > published && lag.ackPending === 2;
    });
    const text = await registry.metrics();
    const info = await consumerInfo(conn, stream, "svc");
    hold.open();
    await run.stop();
    const svc = { route: "svc", stream };
    assert.equal(sample(text, "jetroute_consumer_pending_messages", svc), info.num_pending);
    assert.equal(sample(text, "jetroute_consumer_pending_messages", svc), 18);
    assert.equal(sample(text, "jetroute_consumer_ack_pending_messages", svc), info.num_ack_pending);
    assert.equal(sample(text, "jetroute_consumer_redelivered_messages", svc), info.num_redelivered);
    assert.equal(typeof sample(text, "jetroute_consumer_waiting_pulls", svc), "number");
    assert.equal(sample(text, "jetroute_messages_held", svc), 2);
    assert.equal(sample(text, "jetroute_messages_in_flight", svc), 1);
  });

  it("adds up two brokers sharing one registry, and keeps their counts once both stopped", async () => {
    const stream = unique("METRICS");
    const prefix = await makeStream(conn, stream);
    const registry = new Registry();
    const subject = unique("fan");
    const configure = (b: Broker) =>
      b.register(
        route("svc", async () => {}, withStream(stream), withSubject(`${prefix}.a`)),
        route("fan", async () => {}, withSubject(subject), withFanOut()),
      );
    const one = runBroker(conn, configure, withMetrics({ registry }));
    const two = runBroker(conn, configure, withMetrics({ registry }));
    await Promise.all([one.broker.started(), two.broker.started()]);
    await publishMany(conn, `${prefix}.a`, 10);
    for (let i = 0; i < 3; i++) conn.nats.publish(subject, "x");
    const acked = () => jsStats(one.broker, "svc").acked + jsStats(two.broker, "svc").acked;
    const fanned = () =>
      (one.broker.stats().fan?.handled ?? 0) + (two.broker.stats().fan?.handled ?? 0);
    await until(() => acked() === 10 && fanned() === 6);
    const both = await registry.metrics();
    await one.stop();
    const oneLeft = await registry.metrics();
    await two.stop();
    const none = await registry.metrics();

    const svc = { route: "svc", stream };
    const fan = { route: "fan", stream: "" };
    for (const text of [both, oneLeft, none]) {
      assert.equal(sample(text, "jetroute_messages_received_total", svc), 10);
      assert.equal(
        sample(text, "jetroute_messages_settled_total", { ...svc, outcome: "acked" }),
        10,
      );
      assert.equal(sample(text, "jetroute_messages_received_total", fan), 6);
      assert.equal(sample(text, "jetroute_messages_settled_total", { ...fan, outcome: "ok" }), 6);
      assert.equal(
        sample(text, "jetroute_handler_duration_seconds_count", { ...fan, outcome: "ok" }),
        6,
      );
    }
    assert.equal(sample(both, "jetroute_route_running", { route: "svc" }), 1);
    assert.equal(sample(oneLeft, "jetroute_route_running", { route: "svc" }), 1);
    assert.equal(sample(none, "jetroute_connection_connected"), 0);
    // A third broker on the same registry registers nothing twice.
    assert.doesNotThrow(() => new Broker(withConnection(conn), withMetrics({ registry })));
  });

  it("counts the broker's default producer's publishes from handlers", async () => {
    const registry = new Registry();
    const subject = unique("req");
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "echo",
            async (msg, ctx) => {
              ctx.producer.publish(unique("out"), { seen: msg.subject });
              return "ok";
            },
            withSubject(subject),
            withRequestReply(),
          ),
        ),
      withMetrics({ registry }),
    );
    await run.broker.started();
    for (let i = 0; i < 4; i++) await conn.nats.request(subject, "x");
    const text = await registry.metrics();
    await run.stop();
    assert.equal(sample(text, "jetroute_publishes_total", { kind: "core" }), 4);
    assert.equal(sample(text, "jetroute_publish_duration_seconds_count", { kind: "core" }), 4);
    assert.equal(sample(text, "jetroute_publish_failures_total", { kind: "core" }), 0);
    const echo = { route: "echo", stream: "" };
    assert.equal(sample(text, "jetroute_messages_settled_total", { ...echo, outcome: "ok" }), 4);
  });

  it("counts a createProducer producer's publishes, duplicates and failures with withPublishMetrics", async () => {
    const stream = unique("METRICS");
    const prefix = await makeStream(conn, stream);
    const registry = new Registry();
    const producer = createProducer(
      conn,
      withPublishMetrics({ registry }),
      withPublishRetries(1),
      withRetryBackoff("1ms", "1ms"),
    );
    await producer.publishJetStream(`${prefix}.a`, { n: 1 }, { msgId: "m1" });
    await producer.publishJetStream(`${prefix}.a`, { n: 2 }, { msgId: "m2" });
    const again = await producer.publishJetStream(`${prefix}.a`, { n: 1 }, { msgId: "m1" });
    assert.equal(again.duplicate, true);
    await assert.rejects(producer.publishJetStream(unique("nostream"), { n: 3 }), ErrPublishFailed);
    producer.publish(`${prefix}.core`, "x");
    const text = await registry.metrics();
    const js = { kind: "jetstream" };
    assert.equal(sample(text, "jetroute_publishes_total", js), 4);
    assert.equal(sample(text, "jetroute_publish_duplicates_total", js), 1);
    assert.equal(sample(text, "jetroute_publish_failures_total", js), 1);
    assert.equal(sample(text, "jetroute_publish_duration_seconds_count", js), 4);
    assert.equal(sample(text, "jetroute_publishes_total", { kind: "core" }), 1);
  });

  it("calls withOnPublish beside withPublishMetrics", async () => {
    const registry = new Registry();
    const seen: string[] = [];
    const producer = createProducer(
      conn,
      withPublishMetrics({ registry }),
      withOnPublish((e) => {
        seen.push(e.kind);
      }),
    );
    producer.publish(unique("x"), "x");
    assert.deepEqual(seen, ["core"]);
    assert.equal(sample(await registry.metrics(), "jetroute_publishes_total", { kind: "core" }), 1);
  });
});
