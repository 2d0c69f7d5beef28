// Re-creating, racing and mistyping: a durable is never re-created where that loses messages,
// two healthy instances never fail each other, and a subject the stream does not store is named.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AckPolicy, ReplayPolicy } from "@nats-io/jetstream";
import { connect, withServers } from "../../src/conn/index.js";
import { create } from "../../src/consumer/provision.js";
import { streamFacts } from "../../src/consumer/stream-checks.js";
import {
  ErrConsumerConfigConflict,
  ErrInvalidSubject,
  ErrorCode,
  isJetrouteError,
} from "../../src/errors/index.js";
import {
  ack,
  buildRouteSpec,
  type JetStreamRouteSpec,
  retry,
  route,
  withConcurrency,
  withMaxDeliver,
  withOnConsumerConflict,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { ensureStream, withRetention, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  existingDurable,
  makeStream,
  publishMany,
  recordingLogger,
  routeFailure,
  runBroker,
  swapConsumer,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("consumer contract: migrations that lose nothing", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /** 2.9 sometimes answers "unlinkat ... directory not empty" while a durable is busy: retried. */
  async function deleteDurable(stream: string): Promise<void> {
    const jsm = await conn.jetstreamManager();
    for (let attempt = 1; ; attempt++) {
      try {
        await jsm.consumers.delete(stream, "svc");
        return;
      } catch (err) {
        if (attempt === 10) throw err;
        await sleep(50);
      }
    }
  }

  it("refuses to re-create a durable on an interest stream, keeping the messages stored for it", async () => {
    const stream = unique("INT");
    const prefix = stream.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.>`), withRetention("interest"));
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add(stream, {
      durable_name: "svc",
      ack_policy: AckPolicy.Explicit,
      replay_policy: ReplayPolicy.Original,
      filter_subject: `${prefix}.a`,
    });
    await publishMany(conn, `${prefix}.a`, 5);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.a`),
          withOnConsumerConflict("recreate"),
        ),
      ),
    );
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrConsumerConfigConflict, String(err.cause));
    assert.match(err.cause.message, /refused on interest stream/);
    assert.equal((await jsm.streams.info(stream)).state.messages, 5);
  });

  it("names the work-queue way out when a durable on a work-queue stream conflicts", async () => {
    const stream = unique("WQ");
    const prefix = stream.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.>`), withRetention("workqueue"));
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add(stream, {
      durable_name: "svc",
      ack_policy: AckPolicy.Explicit,
      replay_policy: ReplayPolicy.Original,
      filter_subject: `${prefix}.a`,
    });
    const run = runBroker(conn, (b) =>
      b.register(route("svc", async () => ack(), withStream(stream), withSubject(`${prefix}.a`))),
    );
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrConsumerConfigConflict, String(err.cause));
    assert.match(err.cause.message, /work-queue stream allows one consumer per subject/);
  });

  it("fails a running route whose durable someone re-creates with a conflict, rather than re-creating it back", async () => {
    const { stream, prefix } = await existingDurable(conn, {});
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async () => ack(),
          withStream(stream),
          withSubject(`${prefix}.a`),
          withOnConsumerConflict("recreate"),
        ),
      ),
    );
    await run.broker.started();
    await swapConsumer(conn, stream, {
      durable_name: "svc",
      ack_policy: AckPolicy.None,
      filter_subject: `${prefix}.a`,
    });
    await publishMany(conn, `${prefix}.a`, 1);
    const err = await routeFailure(run.done);
    assert.ok(
      isJetrouteError(err.cause, ErrorCode.ConsumerConfigConflict),
      `expected ErrConsumerConfigConflict, got ${String(err.cause)}`,
    );
    assert.equal((await consumerInfo(conn, stream, "svc")).config.ack_policy, AckPolicy.None);
  });

  it("keeps two instances running when their durable is deleted and both re-create it", async () => {
    // Under steady traffic the two instances know different ack floors, so each re-creates the
    // durable from its own start sequence and one of them loses the race.
    for (let trial = 0; trial < 3; trial++) {
      const stream = unique("RACE");
      const prefix = await makeStream(conn, stream);
      const handled = new Set<number>();
      // Its own connection, closed at the end of the trial (one per instance, as two processes).
      const other = await connect(withServers(server.url));
      const svc = () =>
        route(
          "svc",
          async (msg) => {
            handled.add(msg.json<{ i: number }>().i);
            await sleep(Math.random() * 20);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.a`),
          withConcurrency(4),
        );
      const first = runBroker(conn, (b) => b.register(svc()));
      const second = runBroker(other, (b) => b.register(svc()));
      try {
        await Promise.all([first.broker.started(), second.broker.started()]);
        let published = 0;
        let publishing = true;
        const traffic = (async () => {
          while (publishing) {
            await conn.jetstream.publish(`${prefix}.a`, JSON.stringify({ i: published++ }));
            await sleep(3);
          }
        })();
        try {
          // Past a floor refresh (every 2 s), so each instance recreates from its own floor.
          await sleep(2_500);
          await deleteDurable(stream);
          await sleep(1_500);
        } finally {
          publishing = false;
          await traffic;
        }
        await until(() => handled.size === published);
        for (const run of [first, second]) {
          const state = await Promise.race([
            run.done.then(
              () => "stopped",
              () => "failed",
            ),
            "running",
          ]);
          assert.equal(state, "running", `an instance stopped in trial ${trial + 1}`);
        }
      } finally {
        await Promise.all([first.stop(), second.stop()]);
        await other.close();
      }
    }
  });

  it("reads the durable again when another instance created it first, instead of failing", async () => {
    // The race two recovering instances run, made deterministic: the durable exists (from
    // sequence 1) when this instance's create (from sequence 5) arrives.
    const { stream, prefix } = await existingDurable(conn, {});
    const spec = buildRouteSpec(
      route("svc", async () => ack(), withStream(stream), withSubject(`${prefix}.a`)),
    ) as JetStreamRouteSpec;
    const jsm = await conn.jetstreamManager();
    const ctx = { server: conn.serverVersion(), logger: recordingLogger() };
    const facts = await streamFacts(jsm, spec);
    assert.equal(await create(jsm, spec, ctx, facts, { startSeq: 5 }, false), undefined);
    await assert.rejects(
      create(jsm, spec, ctx, facts, { startSeq: 5 }, true),
      "on the last try the refusal is reported",
    );
  });

  it("fails a route whose subject its stream does not store, naming the stream's subjects", async () => {
    const stream = unique("TYPO");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(
        route("svc", async () => ack(), withStream(stream), withSubject("ordres.created")),
      ),
    );
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrInvalidSubject, String(err.cause));
    assert.match(err.cause.message, new RegExp(`its subjects: ${prefix}\\.>`));
  });

  it("clears a durable's inactive_threshold, so a service down longer than it keeps its place", async () => {
    const { stream, prefix } = await existingDurable(conn, { inactive_threshold: 60_000_000_000 });
    const run = runBroker(conn, (b) =>
      b.register(route("svc", async () => ack(), withStream(stream), withSubject(`${prefix}.a`))),
    );
    await run.broker.started();
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.equal(info.config.inactive_threshold ?? 0, 0);
  });

  it("fails a route on an ephemeral consumer of its durable's name", async () => {
    const stream = unique("EPH");
    const prefix = await makeStream(conn, stream);
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add(stream, {
      name: "svc",
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${prefix}.a`,
      inactive_threshold: 30_000_000_000,
    });
    const run = runBroker(conn, (b) =>
      b.register(route("svc", async () => ack(), withStream(stream), withSubject(`${prefix}.a`))),
    );
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrConsumerConfigConflict, String(err.cause));
    assert.equal(err.cause.field, "durable_name");
  });

  it("sets back a max_deliver cap put on the durable while every message fails", async () => {
    const { stream, prefix } = await existingDurable(conn, {});
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async () => retry({ delay: "200ms" }),
          withStream(stream),
          withSubject(`${prefix}.a`),
          withMaxDeliver(-1),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 1);
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.update(stream, "svc", { max_deliver: 2 });
    await until(() =>
      run.logger.lines.some((l) => (l.msg ?? "").startsWith("consumer settings changed")),
    );
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.equal(info.config.max_deliver, -1);
  });

  it("never hands a handler the empty payload of a headers_only delivery, and turns headers_only off", async () => {
    const { stream, prefix } = await existingDurable(conn, {});
    const bodies: string[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async (msg) => {
            bodies.push(msg.string());
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.a`),
        ),
      ),
    );
    await run.broker.started();
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.update(stream, "svc", { headers_only: true });
    await publishMany(conn, `${prefix}.a`, 20);
    await until(() => bodies.length === 20);
    const info = await consumerInfo(conn, stream, "svc");
    await run.stop();
    assert.deepEqual(
      bodies.filter((b) => b === ""),
      [],
    );
    assert.equal(info.config.headers_only ?? false, false);
  });
});
