import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import { ErrorCode } from "../../src/errors/index.js";
import { type ReplayProgress, replay } from "../../src/replay/index.js";
import {
  fixed,
  type Handler,
  type Message,
  type Middleware,
  reject,
  route,
  withBackoff,
  withDLQ,
  withFanOut,
  withMaxDeliver,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { ensureStream, withRetention, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, gate, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  makeStream,
  publishMany,
  runBroker,
  storedMessages,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("replay", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /** A stream with `count` messages on `<prefix>.in`; a route on it recording the sequences it handles. */
  async function fixture(count: number, handler?: Handler) {
    const stream = unique("RPL");
    const prefix = await makeStream(conn, stream);
    const subject = `${prefix}.in`;
    await publishMany(conn, subject, count);
    const seen: number[] = [];
    const r = route(
      "replayed",
      handler ??
        (async (msg) => {
          seen.push(msg.streamSequence ?? 0);
        }),
      withStream(stream),
      withSubject(subject),
    );
    return { stream, prefix, subject, seen, r };
  }

  /** The stored time of a message (ms precision). */
  async function storedTime(stream: string, seq: number): Promise<Date> {
    const jsm = await conn.jetstreamManager();
    return (await jsm.streams.getMessage(stream, { seq }))?.time ?? assert.fail("no message");
  }

  it("replays every message from a sequence, in stream order, then stops", async () => {
    const { r, seen } = await fixture(10);
    const s = await replay(conn, r, { from: 4 });
    assert.deepEqual(seen, [4, 5, 6, 7, 8, 9, 10]);
    assert.equal(s.delivered, 7);
    assert.equal(s.handled, 7);
    assert.equal(s.firstSeq, 4);
    assert.equal(s.lastSeq, 10);
    assert.equal(s.endSeq, 10);
    assert.equal(s.aborted, false);
  });

  it("replays from a time exactly the messages stored at or after it", async () => {
    const { r, seen, stream, subject } = await fixture(5);
    await sleep(20);
    await publishMany(conn, subject, 5);
    const s = await replay(conn, r, { from: await storedTime(stream, 6) });
    assert.deepEqual(seen, [6, 7, 8, 9, 10]);
    assert.equal(s.handled, 5);
  });

  it("stops at the sequence given as the end", async () => {
    const { r, seen } = await fixture(10);
    const s = await replay(conn, r, { from: "all", to: 3 });
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(s.endSeq, 3);
  });

  it("stops at the last message stored at or before the time given as the end", async () => {
    const { r, seen, stream, subject } = await fixture(5);
    await sleep(20);
    await publishMany(conn, subject, 5);
    const s = await replay(conn, r, { from: "all", to: await storedTime(stream, 5) });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(s.endSeq, 5);
  });

  it("does not replay messages stored after it started", async () => {
    const seen: number[] = [];
    const target = { subject: "" };
    const { r, subject } = await fixture(3, async (msg) => {
      seen.push(msg.streamSequence ?? 0);
      if (seen.length === 1) await publishMany(conn, target.subject, 3);
    });
    target.subject = subject;
    const s = await replay(conn, r, { from: "all" });
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(s.endSeq, 3);
  });

  it("replays only the route's subjects", async () => {
    const { r, seen, prefix } = await fixture(0);
    for (let i = 0; i < 6; i++) {
      await conn.jetstream.publish(`${prefix}.${i % 2 === 0 ? "in" : "other"}`, "x");
    }
    const s = await replay(conn, r, { from: "all" });
    assert.deepEqual(seen, [1, 3, 5]);
    assert.equal(s.delivered, 3);
  });

  it("leaves the route's durable untouched while the route runs", async () => {
    const live = gate();
    const replayed = new WeakSet<Message>();
    const mark: Middleware = (next) => async (msg, ctx) => {
      replayed.add(msg);
      return next(msg, ctx);
    };
    const seen: number[] = [];
    const { r, stream } = await fixture(10, async (msg) => {
      if (!replayed.has(msg)) await live.promise;
      else seen.push(msg.streamSequence ?? 0);
    });
    const run = runBroker(conn, (b) => b.register(r));
    await run.broker.started();
    await until(async () => (await consumerInfo(conn, stream, "replayed")).num_ack_pending > 0);
    const before = await consumerInfo(conn, stream, "replayed");
    const s = await replay(conn, r, { from: "all", middleware: [mark] });
    const after = await consumerInfo(conn, stream, "replayed");
    live.open();
    await run.stop();
    assert.equal(s.handled, 10);
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(after.num_pending, before.num_pending);
    assert.equal(after.num_ack_pending, before.num_ack_pending);
    assert.deepEqual(after.ack_floor, before.ack_floor);
  });

  it("retries a failing message in process with a rising delivery count, then dead-letters it", async () => {
    const dlqStream = unique("RPLDLQ");
    const dlqPrefix = await makeStream(conn, dlqStream);
    const counts: number[] = [];
    const stream = unique("RPL");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.in`, 3);
    const r = route(
      "retrying",
      async (msg) => {
        if (msg.streamSequence !== 2) return;
        counts.push(msg.deliveryCount);
        throw new Error("boom");
      },
      withStream(stream),
      withSubject(`${prefix}.in`),
      withMaxDeliver(3),
      withBackoff(fixed("10ms")),
      withDLQ(`${dlqPrefix}.dead`),
    );
    const s = await replay(conn, r, { from: "all" });
    assert.deepEqual(counts, [1, 2, 3]);
    assert.equal(s.handled, 2);
    assert.equal(s.deadLettered, 1);
    const letters = await storedMessages(conn, dlqStream);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.header.get(DeadLetterHeader.Sequence), "2");
  });

  it("counts a message that fails for good as failed when the route has no DLQ", async () => {
    const { r } = await fixture(3, async (msg) =>
      msg.streamSequence === 1 ? reject("bad") : undefined,
    );
    const s = await replay(conn, r, { from: "all" });
    assert.equal(s.failed, 1);
    assert.equal(s.handled, 2);
  });

  it("resolves with the partial summary and aborted: true when the signal aborts", async () => {
    const controller = new AbortController();
    const { r } = await fixture(10, async (msg, ctx) => {
      if (msg.streamSequence === 3) {
        controller.abort();
        assert.ok(ctx.signal.aborted);
      }
    });
    const s = await replay(conn, r, { from: "all", signal: controller.signal });
    assert.equal(s.aborted, true);
    assert.equal(s.delivered, 3);
    assert.equal(s.handled, 2);
    assert.equal(s.interrupted, 1);
  });

  it("resolves at once with nothing delivered for a range past the stream's end", async () => {
    const { r, seen } = await fixture(5);
    const s = await replay(conn, r, { from: 100 });
    assert.equal(s.delivered, 0);
    assert.deepEqual(seen, []);
    assert.equal(s.firstSeq, undefined);
  });

  it("resolves at once with nothing delivered from an empty stream", async () => {
    const { r } = await fixture(0);
    const s = await replay(conn, r, { from: "all" });
    assert.equal(s.delivered, 0);
    assert.equal(s.endSeq, 0);
  });

  it("resolves when no message of the route's subjects is in the range", async () => {
    const { r, prefix } = await fixture(0);
    await conn.jetstream.publish(`${prefix}.other`, "x");
    const s = await replay(conn, r, { from: "all" });
    assert.equal(s.delivered, 0);
  });

  it("reports progress, the last report saying done", async () => {
    const { r } = await fixture(20);
    const reports: ReplayProgress[] = [];
    await replay(conn, r, {
      from: "all",
      onProgress: (p) => reports.push(p),
      progressIntervalMs: 1,
    });
    const last = reports.at(-1);
    assert.equal(last?.done, true);
    assert.equal(last?.delivered, 20);
    assert.equal(reports.filter((p) => p.done).length, 1);
  });

  it("handles several messages at once with concurrency above 1", async () => {
    let running = 0;
    let most = 0;
    const { r } = await fixture(20, async () => {
      most = Math.max(most, ++running);
      await sleep(5);
      running--;
    });
    const s = await replay(conn, r, { from: "all", concurrency: 4 });
    assert.equal(s.handled, 20);
    assert.equal(most, 4);
  });

  it("rejects a core route with ERR_OPTION_NOT_SUPPORTED", async () => {
    const r = route("core", async () => {}, withSubject("x.y"), withFanOut());
    await assert.rejects(replay(conn, r, { from: "all" }), { code: ErrorCode.OptionNotSupported });
  });

  it("rejects from: new with ERR_INVALID_OPTION", async () => {
    const { r } = await fixture(0);
    await assert.rejects(replay(conn, r, { from: "new" }), { code: ErrorCode.InvalidOption });
  });

  it("rejects a route whose stream does not exist with ERR_STREAM_NOT_FOUND", async () => {
    const r = route("nostream", async () => {}, withStream(unique("NONE")), withSubject("none.in"));
    await assert.rejects(replay(conn, r, { from: "all" }), { code: ErrorCode.StreamNotFound });
  });

  it("rejects a work-queue stream with ERR_RETENTION_UNSUPPORTED", async () => {
    const stream = unique("RPLWQ");
    await ensureStream(
      conn,
      stream,
      withSubjects(`${stream.toLowerCase()}.>`),
      withRetention("workqueue"),
    );
    const r = route(
      "wq",
      async () => {},
      withStream(stream),
      withSubject(`${stream.toLowerCase()}.in`),
    );
    await assert.rejects(replay(conn, r, { from: "all" }), {
      code: ErrorCode.RetentionUnsupported,
    });
  });

  it("rejects a route subject its stream does not store with ERR_INVALID_SUBJECT", async () => {
    const stream = unique("RPLSUBJ");
    await makeStream(conn, stream);
    const r = route("typo", async () => {}, withStream(stream), withSubject("elsewhere.in"));
    await assert.rejects(replay(conn, r, { from: "all" }), { code: ErrorCode.InvalidSubject });
  });
});
