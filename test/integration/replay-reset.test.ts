import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AckPolicy, type ConsumerConfig, DeliverPolicy } from "@nats-io/jetstream";
import { versionAtLeast } from "../../src/conn/index.js";
import { ConsumerMetadata } from "../../src/consumer/index.js";
import { millisToNanos } from "../../src/duration/index.js";
import { ErrorCode } from "../../src/errors/index.js";
import { resetDurable } from "../../src/replay/index.js";
import { route, withDurable, withStream, withSubject } from "../../src/router/index.js";
import { ensureStream, withRetention, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  existingDurable,
  makeStream,
  publishMany,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("resetDurable", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const resetApi = versionAtLeast(conn.serverVersion(), [2, 14, 0]);

  /** A stream of 10 messages on `<prefix>.in`, all consumed and acked by a route's durable "svc". */
  async function consumed() {
    const stream = unique("RST");
    const prefix = await makeStream(conn, stream);
    const subject = `${prefix}.in`;
    await publishMany(conn, subject, 10);
    const seen: number[] = [];
    const r = route(
      "svc",
      async (msg) => {
        seen.push(msg.streamSequence ?? 0);
      },
      withStream(stream),
      withSubject(subject),
      withDurable("svc"),
    );
    const run = runBroker(conn, (b) => b.register(r));
    await until(() => seen.length === 10);
    await until(async () => (await consumerInfo(conn, stream, "svc")).ack_floor.stream_seq === 10);
    await run.stop();
    return { stream, subject, r, seen };
  }

  /** Runs the route until it handled `count` messages; returns their sequences. */
  async function consumeAgain(r: ReturnType<typeof route>, seen: number[], count: number) {
    seen.length = 0;
    const run = runBroker(conn, (b) => b.register(r));
    await until(() => seen.length >= count);
    await sleep(50);
    await run.stop();
    return [...seen];
  }

  /** A config without the fields a reset changes, nor the server's own metadata. */
  function kept(c: ConsumerConfig): Record<string, unknown> {
    const { deliver_policy, opt_start_seq, opt_start_time, metadata, ...rest } = c;
    // The server's own keys, and the mark a re-creating reset adds (2.10+).
    const own = Object.entries(metadata ?? {}).filter(
      ([k]) => !k.startsWith("_nats.") && k !== ConsumerMetadata.Reset,
    );
    return { ...rest, metadata: Object.fromEntries(own) };
  }

  it("rewinds a durable to a sequence: its route then gets the messages from it on", async () => {
    const { stream, r, seen } = await consumed();
    const result = await resetDurable(conn, stream, "svc", { to: 7 });
    assert.equal(result.method, resetApi ? "reset-api" : "recreated");
    assert.equal(result.seq, 7);
    assert.deepEqual(await consumeAgain(r, seen, 4), [7, 8, 9, 10]);
  });

  it("rewinds a durable to a time: the first message stored at or after it comes next", async () => {
    const { stream, subject, r, seen } = await consumed();
    await sleep(20);
    await publishMany(conn, subject, 2);
    const jsm = await conn.jetstreamManager();
    const time = (await jsm.streams.getMessage(stream, { seq: 11 }))?.time ?? assert.fail("no msg");
    const result = await resetDurable(conn, stream, "svc", { to: time });
    assert.equal(result.seq, 11);
    assert.deepEqual(await consumeAgain(r, seen, 2), [11, 12]);
  });

  it("keeps every other setting of the durable", async () => {
    const metadata = versionAtLeast(conn.serverVersion(), [2, 10, 0])
      ? { metadata: { owner: "ops" } }
      : {};
    const { stream } = await existingDurable(
      conn,
      {
        ack_wait: millisToNanos(12_000),
        max_ack_pending: 77,
        max_deliver: 9,
        description: "kept",
        ...metadata,
      },
      5,
    );
    const before = (await consumerInfo(conn, stream, "svc")).config;
    const result = await resetDurable(conn, stream, "svc", { to: 3 });
    const after = (await consumerInfo(conn, stream, "svc")).config;
    assert.deepEqual(kept(after), kept(before));
    assert.deepEqual(kept(result.config), kept(before));
    assert.equal((await consumerInfo(conn, stream, "svc")).num_pending, 3);
  });

  it("re-creates a durable whose deliver policy the reset API does not take", async () => {
    const { stream } = await existingDurable(conn, { deliver_policy: DeliverPolicy.New }, 5);
    const result = await resetDurable(conn, stream, "svc", { to: "all" });
    assert.equal(result.method, "recreated");
    assert.equal(result.seq, 1);
    assert.equal((await consumerInfo(conn, stream, "svc")).num_pending, 5);
  });

  it("refuses while a route of this process consumes the durable", async () => {
    const stream = unique("RST");
    const prefix = await makeStream(conn, stream);
    const r = route("svc", async () => {}, withStream(stream), withSubject(`${prefix}.in`));
    const run = runBroker(conn, (b) => b.register(r));
    await run.broker.started();
    await assert.rejects(resetDurable(conn, stream, "svc", { to: 1 }), {
      code: ErrorCode.DurableRunning,
    });
    await run.stop();
  });

  it("rejects a durable that does not exist with ERR_CONSUMER_NOT_FOUND", async () => {
    const stream = unique("RST");
    await makeStream(conn, stream);
    await assert.rejects(resetDurable(conn, stream, "nobody", { to: 1 }), {
      code: ErrorCode.ConsumerNotFound,
    });
  });

  it("rejects a stream that does not exist with ERR_STREAM_NOT_FOUND", async () => {
    await assert.rejects(resetDurable(conn, unique("NONE"), "svc", { to: 1 }), {
      code: ErrorCode.StreamNotFound,
    });
  });

  it("rejects a work-queue stream with ERR_RETENTION_UNSUPPORTED", async () => {
    const stream = unique("RSTWQ");
    await ensureStream(
      conn,
      stream,
      withSubjects(`${stream.toLowerCase()}.>`),
      withRetention("workqueue"),
    );
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add(stream, { durable_name: "svc", ack_policy: AckPolicy.Explicit });
    await assert.rejects(resetDurable(conn, stream, "svc", { to: 1 }), {
      code: ErrorCode.RetentionUnsupported,
    });
  });

  it("rejects a position that is not a place in the stream with ERR_INVALID_OPTION", async () => {
    await assert.rejects(resetDurable(conn, "S", "svc", { to: "new" }), {
      code: ErrorCode.InvalidOption,
    });
  });

  it("refuses a sequence past the stream's end, the same on every server, naming the end", async () => {
    const { stream } = await consumed();
    const err = await resetDurable(conn, stream, "svc", { to: 1000 }).catch((e: unknown) => e);
    assert.equal((err as { code?: string }).code, ErrorCode.InvalidOption);
    assert.match(
      String((err as Error).message),
      /ends at 10; 11 delivers only messages stored from now on/,
    );
    const ok = await resetDurable(conn, stream, "svc", { to: 11 });
    assert.equal(ok.seq, 11);
  });

  it("rejects something that is not a Connection with ERR_CONNECTION_REQUIRED", async () => {
    await assert.rejects(resetDurable({} as never, "S", "svc", { to: 1 }), {
      code: ErrorCode.ConnectionRequired,
    });
  });

  it("refuses a misspelt option with ERR_INVALID_OPTION before touching the durable", async () => {
    await assert.rejects(resetDurable(conn, "S", "svc", { to: 1, loger: 1 } as never), {
      code: ErrorCode.InvalidOption,
    });
  });
});
