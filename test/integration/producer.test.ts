import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { connect as natsConnect } from "@nats-io/transport-node";
import { bytesCodec, stringCodec } from "../../src/codec/index.js";
import { type Connection, connect, withAsyncTraces, withServers } from "../../src/conn/index.js";
import {
  ErrConnectionRequired,
  ErrExpectationFailed,
  ErrInvalidBackoff,
  ErrInvalidDuration,
  ErrInvalidOption,
  ErrInvalidSubject,
  ErrNoResponders,
  ErrorCode,
  ErrPublishFailed,
  ErrRequestTimeout,
  ErrService,
  isJetrouteError,
} from "../../src/errors/index.js";
import {
  createProducer,
  type ProducerOption,
  type PublishEvent,
  type WindowItem,
  withCodec,
  withOnPublish,
  withProducerLogger,
  withPublishRetries,
  withPublishTimeout,
  withRetryBackoff,
} from "../../src/producer/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { type LogLine, recordingLogger } from "../helpers/memory-logger.js";

checkLeaksAfterAll();

describe("producer", async () => {
  const server = await useServer();
  const conn: Connection = await connect(withServers(server.url));
  after(() => conn.close());
  let streamCount = 0;

  /** A fresh memory stream on `<prefix>.>`; returns its name and subject prefix. */
  async function freshStream(): Promise<{ stream: string; subject: string }> {
    streamCount++;
    const stream = `PRODUCER_${streamCount}`;
    const subject = `producer${streamCount}`;
    const jsm = await conn.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: "memory" });
    return { stream, subject };
  }

  async function storedCount(stream: string): Promise<number> {
    const jsm = await conn.jetstreamManager();
    return (await jsm.streams.info(stream)).state.messages;
  }

  async function storedData(stream: string, seq: number): Promise<Uint8Array> {
    const jsm = await conn.jetstreamManager();
    const m = await jsm.streams.getMessage(stream, { seq });
    assert.ok(m, `message ${seq} of ${stream}`);
    return m.data;
  }

  const text = (data: Uint8Array) => new TextDecoder().decode(data);

  describe("JetStream publish", () => {
    it("publishing the same msg id twice stores one message and reports the second as duplicate", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      const first = await producer.publishJetStream(`${subject}.a`, { n: 1 }, { msgId: "order-1" });
      const second = await producer.publishJetStream(
        `${subject}.a`,
        { n: 1 },
        { msgId: "order-1" },
      );
      assert.equal(first.duplicate, false);
      assert.equal(second.duplicate, true);
      assert.equal(first.stream, stream);
      assert.equal(await storedCount(stream), 1);
    });

    it("a wrong expected last sequence fails with ErrExpectationFailed and stores nothing", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      await producer.publishJetStream(`${subject}.a`, 1);
      await assert.rejects(
        producer.publishJetStream(`${subject}.a`, 2, { expectLastSequence: 7 }),
        (err: unknown) => err instanceof ErrExpectationFailed && err.cause instanceof Error,
      );
      assert.equal(await storedCount(stream), 1);
    });

    it("a wrong expected stream or last msg id fails with ErrExpectationFailed", async () => {
      const { subject } = await freshStream();
      const producer = createProducer(conn);
      await producer.publishJetStream(`${subject}.a`, 1, { msgId: "m1" });
      await assert.rejects(
        producer.publishJetStream(`${subject}.a`, 2, { expectStream: "OTHER" }),
        ErrExpectationFailed,
      );
      await assert.rejects(
        producer.publishJetStream(`${subject}.a`, 2, { expectLastMsgId: "nope" }),
        ErrExpectationFailed,
      );
    });

    it("matching expectations are stored (optimistic concurrency)", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      const a = await producer.publishJetStream(`${subject}.a`, 1, { msgId: "m1" });
      const b = await producer.publishJetStream(`${subject}.a`, 2, {
        expectLastSequence: a.seq,
        expectLastMsgId: "m1",
        expectStream: stream,
        expectLastSubjectSequence: a.seq,
      });
      assert.equal(b.seq, a.seq + 1);
    });

    it("a JetStream publish to a subject no stream listens on fails with ErrPublishFailed caused by no responders", async () => {
      const producer = createProducer(conn, withPublishRetries(2), withRetryBackoff(5, 5));
      await assert.rejects(
        producer.publishJetStream("nostream.here", 1),
        (err: unknown) =>
          err instanceof ErrPublishFailed &&
          err.cause instanceof ErrNoResponders &&
          isJetrouteError(err, ErrorCode.NoResponders),
      );
    });

    it("sends plain-object and MsgHdrs headers, without changing the caller's MsgHdrs", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      await producer.publishJetStream(`${subject}.a`, 1, {
        headers: { "X-Trace": "t1", "X-Many": ["a", "b"] },
      });
      const h = natsHeaders();
      h.set("X-Trace", "t2");
      await producer.publishJetStream(`${subject}.a`, 2, { headers: h, msgId: "m2" });
      assert.deepEqual(h.keys(), ["X-Trace"]);
      const jsm = await conn.jetstreamManager();
      const first = await jsm.streams.getMessage(stream, { seq: 1 });
      const second = await jsm.streams.getMessage(stream, { seq: 2 });
      assert.equal(first?.header.get("X-Trace"), "t1");
      assert.deepEqual(first?.header.values("X-Many"), ["a", "b"]);
      assert.equal(second?.header.get("X-Trace"), "t2");
      assert.equal(second?.header.get("Nats-Msg-Id"), "m2");
    });

    it("windowed publish stores all N messages", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      const items = Array.from({ length: 2000 }, (_, i) => ({
        subject: `${subject}.w`,
        payload: { i },
      }));
      const result = await producer.publishWindowed(items, { window: 100 });
      assert.deepEqual(result, { published: 2000, duplicates: 0, failed: [] });
      assert.equal(await storedCount(stream), 2000);
    });

    it("windowed publish takes an async iterable and reports duplicates and failures by index", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      async function* items(): AsyncGenerator<WindowItem> {
        yield { subject: `${subject}.w`, payload: 1, options: { msgId: "same" } };
        yield { subject: `${subject}.w`, payload: 2, options: { msgId: "same" } };
        yield { subject: `${subject}.*`, payload: 3 };
        yield { subject: `${subject}.w`, payload: 4 };
      }
      const result = await producer.publishWindowed(items(), { window: 1 });
      assert.equal(result.published, 2);
      assert.equal(result.duplicates, 1);
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0]?.index, 2);
      assert.ok(result.failed[0]?.error instanceof ErrInvalidSubject);
      assert.equal(await storedCount(stream), 2);
    });

    it("windowed publish reports items that fail after retries without stopping the others", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn, withPublishRetries(2), withRetryBackoff(5, 5));
      const result = await producer.publishWindowed([
        { subject: `${subject}.w`, payload: 1 },
        { subject: "nostream.window", payload: 2 },
        { subject: `${subject}.w`, payload: 3 },
      ]);
      assert.equal(result.published, 2);
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0]?.index, 1);
      assert.ok(result.failed[0]?.error instanceof ErrPublishFailed);
      assert.ok(isJetrouteError(result.failed[0]?.error, ErrorCode.NoResponders));
      assert.equal(await storedCount(stream), 2);
    });

    it("windowed publish with an aborted signal rejects with the signal's reason and sends nothing", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      const reason = new Error("stop");
      await assert.rejects(
        producer.publishWindowed([{ subject: `${subject}.w`, payload: 1 }], {
          signal: AbortSignal.abort(reason),
        }),
        (err: unknown) => err === reason,
      );
      assert.equal(await storedCount(stream), 0);
    });
  });

  describe("codecs", () => {
    it("round-trips JSON with the default codec", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      const order = { id: "o1", total: 12.5, items: ["a", "b"] };
      const ack = await producer.publishJetStream(`${subject}.json`, order);
      assert.deepEqual(JSON.parse(text(await storedData(stream, ack.seq))), order);
    });

    it("sends strings with the string codec and bytes as they are", async () => {
      const { stream, subject } = await freshStream();
      const strings = createProducer(conn, withCodec(stringCodec()));
      const a = await strings.publishJetStream(`${subject}.s`, "hello");
      assert.equal(text(await storedData(stream, a.seq)), "hello");
      const bytes = createProducer(conn, withCodec(bytesCodec()));
      const raw = new Uint8Array([1, 2, 3]);
      const b = await bytes.publishJetStream(`${subject}.b`, raw);
      assert.deepEqual(await storedData(stream, b.seq), raw);
      // a per-call codec wins over the producer's
      const c = await bytes.publishJetStream(`${subject}.s`, "hi", { codec: stringCodec() });
      assert.equal(text(await storedData(stream, c.seq)), "hi");
    });

    it("sends a Uint8Array payload as is even with the JSON codec", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      const ack = await producer.publishJetStream(`${subject}.b`, new Uint8Array([7, 8]));
      assert.deepEqual(await storedData(stream, ack.seq), new Uint8Array([7, 8]));
    });

    it("fails to publish a value its codec cannot encode with ErrEncode, sending nothing", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn, withCodec(stringCodec()));
      await assert.rejects(producer.publishJetStream(`${subject}.s`, 42), (err: unknown) =>
        isJetrouteError(err, ErrorCode.Encode),
      );
      assert.equal(await storedCount(stream), 0);
    });
  });

  describe("request", () => {
    it("a request nobody answers fails with ErrNoResponders", async () => {
      const producer = createProducer(conn);
      await assert.rejects(producer.request("nobody.home", { q: 1 }), ErrNoResponders);
    });

    it("classifies failures the same with nats.js's async traces on (they wrap errors differently)", async () => {
      const traced = await connect(withServers(server.url), withAsyncTraces(true));
      try {
        const producer = createProducer(traced, withPublishRetries(1));
        await assert.rejects(producer.request("nobody.home", { q: 1 }), ErrNoResponders);
        await assert.rejects(
          producer.publishJetStream("nostream.here", 1),
          (err: unknown) => err instanceof ErrPublishFailed && err.cause instanceof ErrNoResponders,
        );
      } finally {
        await traced.close();
      }
    });

    it("a request a responder does not answer in time fails with ErrRequestTimeout", async () => {
      const sub = conn.nats.subscribe("slow.service", { callback: () => {} });
      await conn.nats.flush();
      try {
        const producer = createProducer(conn);
        await assert.rejects(
          producer.request("slow.service", 1, { timeoutMs: 100 }),
          ErrRequestTimeout,
        );
      } finally {
        sub.unsubscribe();
      }
    });

    it("decodes the JSON reply", async () => {
      const sub = conn.nats.subscribe("echo.service", {
        callback: (_err, msg) => {
          msg.respond(JSON.stringify({ echo: msg.json() }));
        },
      });
      await conn.nats.flush();
      try {
        const producer = createProducer(conn);
        assert.deepEqual(await producer.request("echo.service", { a: 1 }), { echo: { a: 1 } });
        const reply = await producer.request<string>("echo.service", "x", {
          replyCodec: stringCodec(),
        });
        assert.equal(reply, '{"echo":"x"}');
      } finally {
        sub.unsubscribe();
      }
    });

    it("an error reply with Nats-Service-Error headers fails with ErrService carrying code and description", async () => {
      const sub = conn.nats.subscribe("failing.service", {
        callback: (_err, msg) => {
          const h = natsHeaders();
          h.set("Nats-Service-Error", "card declined");
          h.set("Nats-Service-Error-Code", "402");
          msg.respond("", { headers: h });
        },
      });
      await conn.nats.flush();
      try {
        const producer = createProducer(conn);
        await assert.rejects(
          producer.request("failing.service", {}),
          (err: unknown) =>
            err instanceof ErrService &&
            err.code === ErrorCode.ServiceError &&
            err.serviceCode === 402 &&
            err.description === "card declined",
        );
      } finally {
        sub.unsubscribe();
      }
    });
  });

  describe("core publish", () => {
    it("delivers payload and headers to a subscriber", async () => {
      const producer = createProducer(conn);
      const got = new Promise<{ data: unknown; trace: string | undefined }>((resolve) => {
        conn.nats.subscribe("core.events", {
          max: 1,
          callback: (_err, msg) =>
            resolve({ data: msg.json(), trace: msg.headers?.get("X-Trace") }),
        });
      });
      await conn.nats.flush();
      producer.publish("core.events", { hello: "world" }, { headers: { "X-Trace": "t" } });
      assert.deepEqual(await got, { data: { hello: "world" }, trace: "t" });
    });
  });

  describe("validation", () => {
    it("invalid subjects (wildcard, empty token, whitespace, empty) fail with ErrInvalidSubject and nothing is sent", async () => {
      const { stream } = await freshStream();
      // A second connection sees every message anyone sends, on any subject.
      const spy = await natsConnect({ servers: server.url });
      const seen: string[] = [];
      spy.subscribe(">", {
        callback: (_err, msg) => {
          seen.push(msg.subject);
        },
      });
      const probe = new Promise<void>((resolve) => {
        spy.subscribe("probe.done", { max: 1, callback: () => resolve() });
      });
      await spy.flush();
      try {
        const producer = createProducer(conn);
        const bad = [`${stream}.*`, "a.>", "a..b", "a b", "", ".a", "a.", ">", "a\tb"];
        for (const subject of bad) {
          await assert.rejects(producer.publishJetStream(subject, 1), ErrInvalidSubject);
          await assert.rejects(producer.request(subject, 1), ErrInvalidSubject);
          assert.throws(() => producer.publish(subject, 1), ErrInvalidSubject);
        }
        await assert.rejects(
          producer.publishWindowed([{ subject: "a.*", payload: 1 }]).then((r) => {
            throw r.failed[0]?.error;
          }),
          ErrInvalidSubject,
        );
        // Messages from one connection arrive in order: once the probe is in, all else would be.
        conn.nats.publish("probe.done");
        await probe;
        assert.deepEqual(seen, ["probe.done"]);
        assert.equal(await storedCount(stream), 0);
      } finally {
        await spy.close();
      }
    });

    it("bad producer options fail with their sentinel errors", () => {
      const cases: Array<[ProducerOption, new (...args: never[]) => Error]> = [
        [withPublishRetries(0), ErrInvalidOption],
        [withPublishRetries(1.5), ErrInvalidOption],
        [withPublishRetries(101), ErrInvalidOption],
        [withRetryBackoff("2s", "1s"), ErrInvalidBackoff],
        [withRetryBackoff("fast" as never, "1s"), ErrInvalidDuration],
        [withRetryBackoff(-1, 5), ErrInvalidDuration],
        [withPublishTimeout(0), ErrInvalidDuration],
        [withPublishTimeout("soon" as never), ErrInvalidDuration],
        [withCodec({} as never), ErrInvalidOption],
        [withOnPublish("hook" as never), ErrInvalidOption],
        [withProducerLogger({} as never), ErrInvalidOption],
      ];
      for (const [option, expected] of cases) {
        assert.throws(() => createProducer(conn, option), expected);
      }
      assert.throws(() => createProducer(undefined as never), ErrConnectionRequired);
    });

    it("bad per-call values fail with their sentinel errors and send nothing", async () => {
      const { stream, subject } = await freshStream();
      const producer = createProducer(conn);
      const s = `${subject}.a`;
      await assert.rejects(producer.publishJetStream(s, 1, { msgId: "" }), ErrInvalidOption);
      await assert.rejects(
        producer.publishJetStream(s, 1, { expectLastSequence: -1 }),
        ErrInvalidOption,
      );
      await assert.rejects(producer.publishJetStream(s, 1, { timeoutMs: 0 }), ErrInvalidDuration);
      await assert.rejects(
        producer.publishJetStream(s, 1, { headers: { "X-Bad": 5 as never } }),
        ErrInvalidOption,
      );
      await assert.rejects(producer.publishWindowed([], { window: 0 }), ErrInvalidOption);
      assert.equal(await storedCount(stream), 0);
    });
  });

  describe("onPublish hook", () => {
    it("sees subject, latency and duplicate of each JetStream publish, and the error of a failed one", async () => {
      const { subject } = await freshStream();
      const events: PublishEvent[] = [];
      const producer = createProducer(
        conn,
        withOnPublish((e) => void events.push(e)),
        withPublishRetries(1),
      );
      await producer.publishJetStream(`${subject}.a`, 1, { msgId: "x" });
      await producer.publishJetStream(`${subject}.a`, 1, { msgId: "x" });
      await assert.rejects(producer.publishJetStream("nostream.hook", 1), ErrPublishFailed);
      producer.publish(`${subject}.core`, 1);
      assert.equal(events.length, 4);
      const [first, dup, failed, core] = events;
      assert.equal(first?.kind, "jetstream");
      assert.equal(first?.subject, `${subject}.a`);
      assert.equal(first?.duplicate, false);
      assert.equal(first?.error, undefined);
      assert.ok(typeof first?.latencyMs === "number" && first.latencyMs >= 0);
      assert.equal(dup?.duplicate, true);
      assert.equal(failed?.subject, "nostream.hook");
      assert.ok(failed?.error instanceof ErrPublishFailed);
      assert.equal(core?.kind, "core");
    });

    it("a throwing hook does not break publish and is logged", async () => {
      const { stream, subject } = await freshStream();
      const lines: LogLine[] = [];
      const producer = createProducer(
        conn,
        withProducerLogger(recordingLogger(lines)),
        withOnPublish(() => {
          throw new Error("metrics down");
        }),
      );
      const ack = await producer.publishJetStream(`${subject}.a`, 1);
      assert.equal(ack.seq, 1);
      assert.equal(await storedCount(stream), 1);
      assert.ok(lines.some((l) => l.level === "warn"));
    });
  });
});
