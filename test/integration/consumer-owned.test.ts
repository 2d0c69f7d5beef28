// The consumer settings the engine owns are set on an existing durable, whoever made it; what it
// does not own is kept. Several subjects and metadata are gated on nats-server 2.10.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AckPolicy } from "@nats-io/jetstream";
import { versionAtLeast } from "../../src/conn/index.js";
import { ConsumerMetadata } from "../../src/consumer/index.js";
import { ErrServerUnsupported } from "../../src/errors/index.js";
import {
  ack,
  type Handler,
  route,
  withAckWait,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { JETROUTE_VERSION } from "../../src/version.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  existingDurable,
  makeStream,
  publishMany,
  routeFailure,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("consumer contract: the engine's settings on an existing durable", {
  timeout: 30_000,
}, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const since210 = versionAtLeast(conn.serverVersion(), [2, 10, 0]);

  function svc(stream: string, subject: string, handler: Handler = async () => ack()) {
    return route("svc", handler, withStream(stream), withSubject(subject));
  }

  it("clears a durable's backoff list and sets the route's ack wait", async () => {
    const { stream, prefix } = await existingDurable(conn, {
      backoff: [1_000_000_000, 2_000_000_000],
      max_deliver: 5,
      ack_wait: 1_000_000_000,
    });
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.a`),
          withAckWait("10s"),
        ),
      ),
    );
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.equal(info.config.backoff, undefined);
    assert.equal(info.config.ack_wait, 10_000_000_000);
    assert.equal(info.config.max_deliver, -1);
    const line = run.logger.lines.find((l) => l.msg === "consumer updated");
    assert.ok(
      ((line?.obj.changes ?? []) as string[]).some((c) => c.startsWith("backoff:")),
      "the cleared backoff is logged",
    );
  });

  it("runs a handler longer than the durable's old backoff once, across two instances", async () => {
    const { stream, prefix } = await existingDurable(conn, {
      backoff: [1_000_000_000, 2_000_000_000],
      max_deliver: 5,
      ack_wait: 1_000_000_000,
    });
    let runs = 0;
    const slow = async () => {
      runs++;
      await sleep(2_500);
      return ack();
    };
    const other = await useConnection(server.url);
    const first = runBroker(conn, (b) =>
      b.register(
        route("svc", slow, withStream(stream), withSubject(`${prefix}.a`), withAckWait("10s")),
      ),
    );
    const second = runBroker(other, (b) =>
      b.register(
        route("svc", slow, withStream(stream), withSubject(`${prefix}.a`), withAckWait("10s")),
      ),
    );
    await Promise.all([first.broker.started(), second.broker.started()]);
    await publishMany(conn, `${prefix}.a`, 1);
    await until(async () => (await consumerInfo(conn, stream, "svc")).ack_floor.stream_seq === 1);
    await Promise.all([first.stop(), second.stop()]);
    assert.equal(runs, 1);
  });

  it("turns headers_only off, so handlers get the payload", async () => {
    const { stream, prefix } = await existingDurable(conn, { headers_only: true });
    const bodies: string[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        svc(stream, `${prefix}.a`, async (msg) => {
          bodies.push(msg.string());
          return ack();
        }),
      ),
    );
    await conn.jetstream.publish(`${prefix}.a`, "hello");
    await until(() => bodies.length === 1);
    await run.stop();
    assert.deepEqual(bodies, ["hello"]);
  });

  it("keeps the settings the engine does not own", async () => {
    const { stream, prefix } = await existingDurable(conn, {
      description: "made by ops",
      max_batch: 7,
      ack_wait: 5_000_000_000,
    });
    const run = runBroker(conn, (b) => b.register(svc(stream, `${prefix}.a`)));
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.equal(info.config.description, "made by ops");
    assert.equal(info.config.max_batch, 7);
  });

  it("runs unchanged on a durable without a filter when the stream has only the route's subject", async () => {
    const stream = unique("OWN");
    const subject = `${stream.toLowerCase()}.only`;
    await ensureStream(conn, stream, withSubjects(subject));
    const run = runBroker(conn, (b) => b.register(svc(stream, subject)));
    const jsm = await conn.jetstreamManager();
    await run.stop();
    await jsm.consumers.add(stream, { durable_name: "svc2", ack_policy: AckPolicy.Explicit });
    const again = runBroker(conn, (b) =>
      b.register(route("svc2", async () => ack(), withStream(stream), withSubject(subject))),
    );
    await again.broker.started();
    await again.stop();
    const info = await consumerInfo(conn, stream, "svc2");
    assert.equal(info.config.filter_subject ?? "", "", "the empty filter is kept");
  });

  it("stamps the route and jetroute version in the durable's metadata, keeping the user's keys (2.10+)", async (t) => {
    if (!since210) return t.skip("consumer metadata needs nats-server 2.10");
    const { stream, prefix } = await existingDurable(conn, { metadata: { team: "billing" } });
    const run = runBroker(conn, (b) => b.register(svc(stream, `${prefix}.a`)));
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.equal(info.config.metadata?.[ConsumerMetadata.Route], "svc");
    assert.equal(info.config.metadata?.[ConsumerMetadata.Version], JETROUTE_VERSION);
    assert.equal(info.config.metadata?.team, "billing");
  });

  it("creates a durable without metadata on servers before 2.10", async (t) => {
    if (since210) return t.skip("this is the older side of the metadata gate");
    const stream = unique("OWN");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) => b.register(svc(stream, `${prefix}.a`)));
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.equal(info.config.metadata, undefined);
  });

  it("consumes several subjects with one durable through filter_subjects (2.10+)", async (t) => {
    if (!since210) return t.skip("filter_subjects needs nats-server 2.10");
    const stream = unique("OWN");
    const prefix = await makeStream(conn, stream);
    const seen: string[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "multi",
          async (msg) => {
            seen.push(msg.subject);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.a`, `${prefix}.b`),
        ),
      ),
    );
    await publishMany(conn, `${prefix}.a`, 2);
    await publishMany(conn, `${prefix}.c`, 2);
    await publishMany(conn, `${prefix}.b`, 2);
    await until(() => seen.length === 4);
    const info = await consumerInfo(conn, stream, "multi");
    await run.stop();
    assert.deepEqual(seen.sort(), [`${prefix}.a`, `${prefix}.a`, `${prefix}.b`, `${prefix}.b`]);
    assert.deepEqual(info.config.filter_subjects, [`${prefix}.a`, `${prefix}.b`]);
  });

  it("runs on a durable someone made with the same filter_subjects, in any order (2.10+)", async (t) => {
    if (!since210) return t.skip("filter_subjects needs nats-server 2.10");
    const { stream, prefix } = await existingDurable(conn, (p) => ({
      filter_subjects: [`${p}.a`, `${p}.b`],
    }));
    let handled = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async () => {
            handled++;
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.b`, `${prefix}.a`),
        ),
      ),
    );
    await publishMany(conn, `${prefix}.b`, 3);
    await until(() => handled === 3);
    await run.stop();
  });

  it("fails a route with several subjects on a server before 2.10, naming the version needed", async (t) => {
    if (since210) return t.skip("this is the older side of the filter_subjects gate");
    const stream = unique("OWN");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "multi",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.a`, `${prefix}.b`),
        ),
      ),
    );
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrServerUnsupported, String(err.cause));
    assert.match(err.cause.message, /2\.10\.0 or later/);
  });
});
