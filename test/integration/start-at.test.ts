// Where a new durable starts (withStartAt): every variant on a real server, applied only when
// the durable is created, and a different start on an existing durable reported, never ignored.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ErrConsumerConfigRejected } from "../../src/errors/index.js";
import type { StartAt } from "../../src/position/index.js";
import { ack, route, withStartAt, withStream, withSubject } from "../../src/router/index.js";
import { ensureStream, withRetention, withSubjects } from "../../src/stream/index.js";
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

describe("withStartAt: where a new durable starts", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /** Runs route "svc" on `subject` from `start`; returns the stream sequences it handled. */
  function consume(stream: string, subject: string, start: StartAt) {
    const handled: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async (msg) => {
            handled.push(msg.streamSequence ?? 0);
            return ack();
          },
          withStream(stream),
          withSubject(subject),
          withStartAt(start),
        ),
      ),
    );
    return { handled, run };
  }

  /** Waits for `count` handled messages, then a little longer to catch any extra one. */
  async function settle(handled: number[], count: number): Promise<void> {
    await until(() => handled.length >= count);
    await sleep(300);
  }

  it('"new" handles only messages published after the durable was created', async () => {
    const stream = unique("START");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.a`, 3);
    const { handled, run } = consume(stream, `${prefix}.a`, "new");
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 2);
    await settle(handled, 2);
    await run.stop();
    assert.deepEqual(handled, [4, 5]);
  });

  it('"last-per-subject" handles the last message of each subject, then new ones', async () => {
    const stream = unique("START");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.k1`, 2); // 1, 2
    await publishMany(conn, `${prefix}.k2`, 2); // 3, 4
    const { handled, run } = consume(stream, `${prefix}.*`, "last-per-subject");
    await run.broker.started();
    await publishMany(conn, `${prefix}.k1`, 1); // 5
    await settle(handled, 3);
    await run.stop();
    assert.deepEqual(handled, [2, 4, 5]);
  });

  it("a stream sequence starts there", async () => {
    const stream = unique("START");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.a`, 5);
    const { handled, run } = consume(stream, `${prefix}.a`, 4);
    await settle(handled, 2);
    await run.stop();
    assert.deepEqual(handled, [4, 5]);
  });

  for (const form of ["Date", "ISO string"] as const) {
    it(`a time (${form}) starts at the first message stored at or after it`, async () => {
      const stream = unique("START");
      const prefix = await makeStream(conn, stream);
      await publishMany(conn, `${prefix}.a`, 3);
      await sleep(50);
      const at = new Date();
      await sleep(50);
      await publishMany(conn, `${prefix}.a`, 2);
      const { handled, run } = consume(
        stream,
        `${prefix}.a`,
        form === "Date" ? at : at.toISOString(),
      );
      await settle(handled, 2);
      await run.stop();
      assert.deepEqual(handled, [4, 5]);
    });
  }

  it('a duration ("1s") starts that long before the durable is created', async () => {
    const stream = unique("START");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.a`, 3);
    await sleep(1_500);
    await publishMany(conn, `${prefix}.a`, 2);
    const { handled, run } = consume(stream, `${prefix}.a`, "1s");
    await settle(handled, 2);
    await run.stop();
    assert.deepEqual(handled, [4, 5]);
  });

  it("the default handles the whole stream", async () => {
    const stream = unique("START");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.a`, 3);
    const { handled, run } = consume(stream, `${prefix}.a`, "all");
    await settle(handled, 3);
    await run.stop();
    assert.deepEqual(handled, [1, 2, 3]);
  });

  it("an existing durable keeps its position, and the other start is logged as a warning", async () => {
    const { stream, prefix } = await existingDurable(conn, {}, 3);
    const { handled, run } = consume(stream, `${prefix}.a`, "new");
    await settle(handled, 3);
    await run.stop();
    assert.deepEqual(handled, [1, 2, 3], "the durable was not moved");
    const warning = run.logger.lines.find(
      (l) => l.level === "warn" && /withStartAt\(new\)/.test(l.msg ?? ""),
    );
    assert.ok(warning, "the start the route asked for is reported");
    assert.match(warning.msg ?? "", /resetDurable/);
    const info = await consumerInfo(conn, stream, "svc");
    assert.equal(info.config.deliver_policy, "all");
  });

  it("the same start on an existing durable logs nothing", async () => {
    const { stream, prefix } = await existingDurable(
      conn,
      { deliver_policy: "by_start_sequence" as never, opt_start_seq: 2 },
      3,
    );
    const { handled, run } = consume(stream, `${prefix}.a`, 2);
    await settle(handled, 2);
    await run.stop();
    assert.deepEqual(handled, [2, 3]);
    assert.ok(!run.logger.lines.some((l) => /withStartAt/.test(l.msg ?? "")));
  });

  it("a start other than the whole stream on a work-queue stream fails the route with ErrConsumerConfigRejected", async () => {
    const stream = unique("START_WQ");
    const prefix = stream.toLowerCase();
    await ensureStream(conn, stream, withSubjects(`${prefix}.>`), withRetention("workqueue"));
    const { run } = consume(stream, `${prefix}.a`, "new");
    const err = await routeFailure(run.done);
    assert.ok(err.cause instanceof ErrConsumerConfigRejected, String(err.cause));
    assert.match(String(err.cause.message), /work-queue/);
  });
});
