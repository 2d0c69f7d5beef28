// An existing durable with a setting the route cannot run with and must not change in place:
// the route fails at start with ErrConsumerConfigConflict, or re-creates it when asked to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AckPolicy, type ConsumerConfig, ReplayPolicy } from "@nats-io/jetstream";
import { versionAtLeast } from "../../src/conn/index.js";
import { ErrConsumerConfigConflict, ErrConsumerConfigRejected } from "../../src/errors/index.js";
import {
  ack,
  retry,
  route,
  withMaxAckPending,
  withOnConsumerConflict,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  existingDurable,
  publishMany,
  routeFailure,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("consumer contract: conflicts fail the route at start", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const atLeast = (v: readonly [number, number, number]) => versionAtLeast(conn.serverVersion(), v);

  /** Runs route "svc" on the durable and returns the conflict it failed with. */
  async function conflictOf(stream: string, subject: string): Promise<ErrConsumerConfigConflict> {
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
          withSubject(subject),
        ),
      ),
    );
    const err = await routeFailure(run.done);
    assert.equal(handled, 0, "no message may be handled under a conflicting durable");
    assert.ok(
      err.cause instanceof ErrConsumerConfigConflict,
      `expected ErrConsumerConfigConflict, got ${String(err.cause)}`,
    );
    return err.cause;
  }

  for (const policy of [AckPolicy.All, AckPolicy.None]) {
    it(`fails a route on a durable with ack_policy "${policy}", naming the field, both values and the fix`, async () => {
      const { stream, prefix } = await existingDurable(conn, { ack_policy: policy }, 3);
      const err = await conflictOf(stream, `${prefix}.a`);
      assert.equal(err.field, "ack_policy");
      assert.deepEqual(
        { current: err.conflicts[0]?.current, wanted: err.conflicts[0]?.wanted },
        { current: policy, wanted: "explicit" },
      );
      assert.match(err.message, /withDurable/);
      assert.match(err.message, /withOnConsumerConflict\("recreate"\)/);
      const info = await consumerInfo(conn, stream, "svc");
      assert.equal(info.config.ack_policy, policy, "the durable is left as it was");
      assert.equal(info.num_pending, 3, "nothing was consumed");
    });
  }

  it("re-creates a durable with ack_policy none when asked, and every failed message is retried", async () => {
    const { stream, prefix } = await existingDurable(conn, { ack_policy: AckPolicy.None }, 40);
    const done = new Set<number>();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async (msg) => {
            // Every fifth message fails its first delivery.
            if ((msg.streamSequence ?? 0) % 5 === 0 && msg.deliveryCount === 1) {
              return retry({ delay: "10ms" });
            }
            done.add(msg.streamSequence ?? -1);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.a`),
          withOnConsumerConflict("recreate"),
        ),
      ),
    );
    await until(() => done.size === 40);
    await run.stop();
    const info = await consumerInfo(conn, stream, "svc");
    assert.equal(info.config.ack_policy, AckPolicy.Explicit);
    assert.ok(
      run.logger.lines.some(
        (l) => l.msg === "re-creating the durable consumer (withOnConsumerConflict)",
      ),
    );
  });

  it("fails a route whose subject differs from the durable's filter, rather than moving it", async () => {
    const { stream, prefix } = await existingDurable(conn, {}, 2);
    const err = await conflictOf(stream, `${prefix}.b`);
    assert.equal(err.field, "filter_subject");
    assert.deepEqual(
      { current: err.conflicts[0]?.current, wanted: err.conflicts[0]?.wanted },
      { current: `${prefix}.a`, wanted: `${prefix}.b` },
    );
    const info = await consumerInfo(conn, stream, "svc");
    assert.equal(info.config.filter_subject, `${prefix}.a`, "the filter is left as it was");
  });

  it("moves a durable to a new subject by re-creating it, delivering the new subject's stored messages", async () => {
    const { stream, prefix } = await existingDurable(conn, {}, 0);
    await publishMany(conn, `${prefix}.b`, 5);
    const seen: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async (msg) => {
            seen.push(msg.streamSequence ?? -1);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.b`),
          withOnConsumerConflict("recreate"),
        ),
      ),
    );
    await until(() => seen.length === 5);
    await run.stop();
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  it("fails a route on a push durable", async () => {
    const { stream, prefix } = await existingDurable(conn, {
      deliver_subject: unique("push.inbox"),
    });
    const err = await conflictOf(stream, `${prefix}.a`);
    assert.equal(err.field, "deliver_subject");
  });

  it("fails a route on a durable that replays at the original pace", async () => {
    const { stream, prefix } = await existingDurable(conn, {
      replay_policy: ReplayPolicy.Original,
    });
    const err = await conflictOf(stream, `${prefix}.a`);
    assert.equal(err.field, "replay_policy");
  });

  it("fails a route on a durable whose max_expires is too short to pull with, saying how to raise it", async () => {
    const { stream, prefix } = await existingDurable(conn, { max_expires: 500_000_000 });
    const err = await conflictOf(stream, `${prefix}.a`);
    assert.equal(err.field, "max_expires");
    assert.match(err.message, /--max-pull-expire/);
  });

  it("fails a route whose subjects differ from a durable's filter_subjects (2.10+)", async (t) => {
    if (!atLeast([2, 10, 0])) return t.skip("filter_subjects needs nats-server 2.10");
    const { stream, prefix } = await existingDurable(conn, (p) => ({
      filter_subjects: [`${p}.a`, `${p}.b`],
    }));
    const err = await conflictOf(stream, `${prefix}.a`);
    assert.equal(err.field, "filter_subjects");
    assert.deepEqual(err.conflicts[0]?.current, [`${prefix}.a`, `${prefix}.b`]);
  });

  it("fails a route on a durable with priority groups (2.11+)", async (t) => {
    if (!atLeast([2, 11, 0])) return t.skip("priority groups need nats-server 2.11");
    const { stream, prefix } = await existingDurable(conn, {
      priority_groups: ["jobs"],
      priority_policy: "overflow",
    } as Partial<ConsumerConfig>);
    const err = await conflictOf(stream, `${prefix}.a`);
    assert.equal(err.field, "priority_groups");
  });

  it("runs a default route within the stream's consumer limit on max_ack_pending (2.10+)", async (t) => {
    if (!atLeast([2, 10, 0])) return t.skip("stream consumer limits need nats-server 2.10");
    const stream = await limitedStream(100);
    const run = runBroker(conn, (b) =>
      b.register(route("svc", async () => ack(), withStream(stream), withSubject(`${stream}.a`))),
    );
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.equal(info.config.max_ack_pending, 100);
  });

  it("fails a route that asks for more than the stream's consumer limit, quoting the server (2.10+)", async (t) => {
    if (!atLeast([2, 10, 0])) return t.skip("stream consumer limits need nats-server 2.10");
    const stream = await limitedStream(100);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async () => ack(),
          withStream(stream),
          withSubject(`${stream}.a`),
          withMaxAckPending(500),
        ),
      ),
    );
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrConsumerConfigRejected, String(err.cause));
    assert.match(err.cause.message, /limit of 100/);
  });

  async function limitedStream(maxAckPending: number): Promise<string> {
    const stream = unique("LIM");
    const jsm = await conn.jetstreamManager();
    await jsm.streams.add({
      name: stream,
      subjects: [`${stream}.>`],
      consumer_limits: { max_ack_pending: maxAckPending },
    } as Parameters<typeof jsm.streams.add>[0]);
    return stream;
  }
});
