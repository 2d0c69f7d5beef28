// publishWindowed's first attempts share one reply subscription per call (src/producer/mux.ts):
// what a caller sees must be what js.publish gives, through acks, errors, timeouts and closes.
import assert from "node:assert/strict";
import { get } from "node:http";
import { after, describe, it } from "node:test";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  type Connection,
  connect,
  withReconnectWait,
  withServers,
  withUserPass,
} from "../../src/conn/index.js";
import {
  ErrConnectionClosed,
  ErrExpectationFailed,
  ErrInvalidOption,
  ErrorCode,
  ErrPublishFailed,
  isJetrouteError,
} from "../../src/errors/index.js";
import {
  createProducer,
  type PublishEvent,
  type WindowItem,
  withOnPublish,
  withPublishRetries,
  withPublishTimeout,
  withRetryBackoff,
} from "../../src/producer/index.js";
import { startServer, startTcpProxy } from "../../src/testing/index.js";
import { withTracing } from "../../src/tracing/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";

checkLeaksAfterAll();

describe("windowed publish", async () => {
  const server = await useServer({ extraConfig: "max_payload: 65536" });
  const conn: Connection = await connect(withServers(server.url));
  after(() => conn.close());
  let streams = 0;

  async function freshStream(config: { max_msg_size?: number } = {}) {
    streams++;
    const stream = `WINDOW_${streams}`;
    const subject = `window${streams}`;
    const jsm = await conn.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: "file", ...config });
    return { stream, subject };
  }

  async function stored(stream: string): Promise<number> {
    const jsm = await conn.jetstreamManager();
    return (await jsm.streams.info(stream)).state.messages;
  }

  function* numbered(subject: string, n: number, tag = "") {
    for (let i = 0; i < n; i++) {
      yield {
        subject,
        payload: { i },
        ...(tag ? { options: { msgId: `${tag}-${i}` } } : {}),
      } satisfies WindowItem;
    }
  }

  it("leaves no subscription behind on the connection", async () => {
    const { subject } = await freshStream();
    const producer = createProducer(conn);
    const before = await subscriptionsOnServer(server.httpPort);
    const result = await producer.publishWindowed(numbered(`${subject}.a`, 500));
    assert.equal(result.published, 500);
    await conn.nats.flush(); // the server has read our UNSUB once it answers this PING
    assert.equal(await subscriptionsOnServer(server.httpPort), before);
  });

  it("reports a redelivered msg id as a duplicate, counted apart from new messages", async () => {
    const { stream, subject } = await freshStream();
    const producer = createProducer(conn);
    await producer.publishWindowed(numbered(`${subject}.a`, 300, "d"));
    const again = await producer.publishWindowed(numbered(`${subject}.a`, 400, "d"));
    assert.deepEqual(again, { published: 100, duplicates: 300, failed: [] });
    assert.equal(await stored(stream), 400);
  });

  it("fails an item the stream refuses (max_msg_size) with ErrPublishFailed naming the reason, storing the rest", async () => {
    const { stream, subject } = await freshStream({ max_msg_size: 200 });
    const producer = createProducer(conn);
    const result = await producer.publishWindowed([
      { subject: `${subject}.a`, payload: "small" },
      { subject: `${subject}.a`, payload: "x".repeat(1000) },
      { subject: `${subject}.a`, payload: "small" },
    ]);
    assert.equal(result.published, 2);
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0]?.index, 1);
    assert.ok(result.failed[0]?.error instanceof ErrPublishFailed);
    assert.match(String(result.failed[0]?.error), /maximum/i);
    assert.equal(await stored(stream), 2);
  });

  it("fails an item over the server's max_payload alone, without sending it", async () => {
    const { stream, subject } = await freshStream();
    const producer = createProducer(conn);
    const result = await producer.publishWindowed([
      { subject: `${subject}.a`, payload: 1 },
      { subject: `${subject}.a`, payload: new Uint8Array(70_000) },
      { subject: `${subject}.a`, payload: 3 },
    ]);
    assert.equal(result.published, 2);
    assert.equal(result.failed[0]?.index, 1);
    assert.ok(result.failed[0]?.error instanceof ErrPublishFailed);
    assert.match(String(result.failed[0]?.error), /max_payload/);
    assert.equal(await stored(stream), 2);
  });

  it("keeps an item's expectations: a wrong expected last sequence fails that item only", async () => {
    const { stream, subject } = await freshStream();
    const producer = createProducer(conn);
    const result = await producer.publishWindowed([
      { subject: `${subject}.a`, payload: 1 },
      { subject: `${subject}.a`, payload: 2, options: { expectLastSequence: 99 } },
      { subject: `${subject}.a`, payload: 3 },
    ]);
    assert.equal(result.published, 2);
    assert.equal(result.failed[0]?.index, 1);
    assert.ok(result.failed[0]?.error instanceof ErrExpectationFailed);
    assert.equal(await stored(stream), 2);
  });

  it("gives every item its send span and stores the span's traceparent with it", async () => {
    const { stream, subject } = await freshStream();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const producer = createProducer(
      conn,
      withTracing({ tracerProvider: provider, propagator: new W3CTraceContextPropagator() }),
    );
    try {
      const result = await producer.publishWindowed(numbered(`${subject}.a`, 50, "t"));
      assert.equal(result.published, 50);
      const spans = exporter.getFinishedSpans();
      assert.equal(spans.length, 50);
      const jsm = await conn.jetstreamManager();
      const first = await jsm.streams.getMessage(stream, { seq: 1 });
      const traceparent = first?.header.get("traceparent");
      const span = spans.find((sp) => traceparent?.includes(sp.spanContext().spanId));
      assert.ok(span, `a send span matches the stored traceparent ${traceparent}`);
      assert.equal(span.name, `send ${subject}.a`);
      assert.equal(first?.header.get("Nats-Msg-Id"), "t-0");
    } finally {
      await provider.shutdown();
    }
  });

  it("shows every item to the onPublish hook, duplicates flagged", async () => {
    const { subject } = await freshStream();
    const events: PublishEvent[] = [];
    const producer = createProducer(
      conn,
      withOnPublish((e) => {
        events.push(e);
      }),
    );
    await producer.publishWindowed(numbered(`${subject}.a`, 10, "h"));
    await producer.publishWindowed(numbered(`${subject}.a`, 12, "h"));
    assert.equal(events.length, 22);
    assert.ok(events.every((e) => e.kind === "jetstream" && e.error === undefined));
    assert.equal(events.filter((e) => e.duplicate).length, 10);
  });

  /**
   * A server of its own with an `admin` user and a `limited` one holding `permissions` (server
   * config syntax), the stream `name` on `subjects`; `body` publishes as `limited`.
   */
  async function withLimitedUser(
    permissions: string,
    stream: { name: string; subjects: string[] },
    body: (limited: Connection, stored: () => Promise<number>) => Promise<void>,
  ): Promise<void> {
    const own = await startServer({
      extraConfig: `accounts { A { jetstream: enabled, users: [
        { user: admin, password: a },
        { user: limited, password: l, permissions: ${permissions} }
      ] } }`,
    });
    const admin = await connect(withServers(own.url), withUserPass("admin", "a"));
    const limited = await connect(withServers(own.url), withUserPass("limited", "l"));
    try {
      const jsm = await admin.jetstreamManager();
      await jsm.streams.add({ ...stream, storage: "file" });
      await body(limited, async () => (await jsm.streams.info(stream.name)).state.messages);
    } finally {
      await limited.close();
      await admin.close();
      await own.stop();
    }
  }

  it("fails an item the account may not publish with its permission error, not a timeout", async () => {
    await withLimitedUser(
      `{ publish: { allow: ["ok.>", "$JS.API.>"] }, subscribe: { allow: ["_INBOX.>"] } }`,
      { name: "PERMS", subjects: ["ok.>", "deny.>"] },
      async (limited, storedInStream) => {
        // Without the refusal the item would wait out this timeout and fail as a timeout.
        const producer = createProducer(limited, withPublishTimeout("10s"));
        const result = await producer.publishWindowed([
          { subject: "ok.a", payload: 1 },
          { subject: "deny.x", payload: 2 },
          { subject: "ok.b", payload: 3 },
        ]);
        assert.equal(result.published, 2);
        assert.equal(result.failed[0]?.index, 1);
        const error = result.failed[0]?.error;
        assert.ok(error instanceof ErrPublishFailed);
        assert.match(String(error), /Permissions Violation/i);
        assert.ok(!isJetrouteError(error, ErrorCode.RequestTimeout), String(error));
        assert.equal(await storedInStream(), 2);
      },
    );
  });

  it("stores nothing when the account may not subscribe to the reply inbox: every item fails with that refusal", async () => {
    await withLimitedUser(
      `{ publish: { allow: [">"] }, subscribe: { allow: ["orders.>"] } }`,
      { name: "NOINBOX", subjects: ["orders.>"] },
      async (limited, storedInStream) => {
        const producer = createProducer(limited, withPublishTimeout("10s"));
        const result = await producer.publishWindowed(numbered("orders.a", 3, "n"));
        assert.equal(result.published + result.duplicates, 0);
        assert.equal(result.failed.length, 3);
        for (const { error } of result.failed) {
          assert.ok(error instanceof ErrPublishFailed);
          assert.match(String(error), /Permissions Violation for Subscription/i);
        }
        // Published anyway, they would be stored with no ack to tell: the retries of a relay
        // would store them again once the duplicate window passed.
        assert.equal(await storedInStream(), 0);
      },
    );
  });

  it("stores nothing when the connection is at the server's subscription limit: every item fails with that refusal", async () => {
    const own = await startServer({ extraConfig: "max_subscriptions: 1" });
    const admin = await connect(withServers(own.url));
    const limited = await connect(withServers(own.url));
    try {
      const jsm = await admin.jetstreamManager();
      await jsm.streams.add({ name: "SUBS", subjects: ["subs.>"], storage: "file" });
      const producer = createProducer(limited, withPublishTimeout("10s"), withPublishRetries(1));
      // nats.js's own request mux takes the one subscription allowed.
      await producer.publishJetStream("subs.a", 0, { msgId: "first" });
      const result = await producer.publishWindowed(numbered("subs.a", 5, "s"));
      assert.equal(result.published + result.duplicates, 0);
      assert.equal(result.failed.length, 5);
      for (const { error } of result.failed) {
        assert.ok(error instanceof ErrPublishFailed);
        assert.match(String(error), /maximum subscriptions exceeded/i);
      }
      assert.equal((await jsm.streams.info("SUBS")).state.messages, 1);
    } finally {
      await limited.close();
      await admin.close();
      await own.stop();
    }
  });

  it("publishes nothing when aborted while the server has not confirmed the reply subscription", async () => {
    const { stream, subject } = await freshStream();
    const proxy = await startTcpProxy(server.url);
    const silent = await connect(withServers(proxy.url));
    try {
      const producer = createProducer(silent, withPublishTimeout("10s"));
      proxy.blackhole();
      const controller = new AbortController();
      const publishing = producer.publishWindowed(numbered(`${subject}.a`, 3), {
        signal: controller.signal,
      });
      await new Promise((r) => setTimeout(r, 200));
      controller.abort(new Error("shutting down"));
      await assert.rejects(publishing, /shutting down/);
      proxy.resume();
      await silent.nats.flush(); // whatever was written has reached the server now
      assert.equal(await stored(stream), 0);
    } finally {
      await silent.close();
      await proxy.close();
    }
  });

  it("publishes every item once when the call starts while the connection is reconnecting", async () => {
    const own = await startServer();
    const reconnecting = await connect(withServers(own.url), withReconnectWait("100ms"));
    try {
      const jsm = await reconnecting.jetstreamManager();
      await jsm.streams.add({ name: "BACK", subjects: ["back.>"], storage: "file" });
      const producer = createProducer(reconnecting, withRetryBackoff("200ms", "1s"));
      await own.kill();
      // No msgIds: a message sent blind into the outage could be neither retried nor counted.
      const publishing = producer.publishWindowed(numbered("back.a", 200));
      await new Promise((r) => setTimeout(r, 1000));
      await own.restart();
      const result = await publishing;
      assert.deepEqual(result, { published: 200, duplicates: 0, failed: [] });
      assert.equal((await jsm.streams.info("BACK")).state.messages, 200);
    } finally {
      await reconnecting.close();
      await own.stop();
    }
  });

  it("does not count an unsent first attempt: with one attempt allowed, an unconfirmed call still publishes once", async () => {
    const { stream, subject } = await freshStream();
    const proxy = await startTcpProxy(server.url);
    const silent = await connect(withServers(proxy.url));
    try {
      const producer = createProducer(silent, withPublishTimeout("300ms"), withPublishRetries(1));
      proxy.blackhole();
      const publishing = producer.publishWindowed(numbered(`${subject}.a`, 3, "u"));
      // Silent past the confirmation's timeout, then answering again: the retry gets through.
      await new Promise((r) => setTimeout(r, 400));
      proxy.resume();
      const result = await publishing;
      assert.deepEqual(result, { published: 3, duplicates: 0, failed: [] });
      assert.equal(await stored(stream), 3);
    } finally {
      await silent.close();
      await proxy.close();
    }
  });

  it("fails publishes in flight with ErrConnectionClosed when the connection closes, whatever their path", async () => {
    const { subject } = await freshStream();
    // Acks held back by a silent network, so every publish is still in flight at the close.
    const proxy = await startTcpProxy(server.url);
    const closing = await connect(withServers(proxy.url));
    try {
      const producer = createProducer(closing, withPublishRetries(1));
      proxy.blackhole();
      const single = Array.from({ length: 20 }, (_, i) =>
        producer.publishJetStream(`${subject}.a`, i).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      const windowed = producer.publishWindowed(
        Array.from({ length: 20 }, (_, i) => ({
          subject: `${subject}.a`,
          payload: i,
          options: { timeoutMs: 5000 }, // js.publish's own path
        })),
      );
      await closing.close();
      const errors = [
        ...(await Promise.all(single)),
        ...(await windowed).failed.map((f) => f.error),
      ];
      assert.equal(errors.length, 40);
      for (const e of errors) assert.ok(e instanceof ErrConnectionClosed, String(e));
    } finally {
      await proxy.close();
    }
  });

  it("fails every item with ErrConnectionClosed on a closed connection", async () => {
    const { subject } = await freshStream();
    const closed = await connect(withServers(server.url));
    await closed.close();
    const producer = createProducer(closed);
    assert.deepEqual(await producer.publishWindowed([]), {
      published: 0,
      duplicates: 0,
      failed: [],
    });
    const result = await producer.publishWindowed(numbered(`${subject}.a`, 3));
    assert.deepEqual(
      result.failed.map((f) => f.index),
      [0, 1, 2],
    );
    for (const { error } of result.failed) assert.ok(error instanceof ErrConnectionClosed);
  });

  it("fails an item that is not an object with ErrInvalidOption, publishing the others", async () => {
    const { stream, subject } = await freshStream();
    const producer = createProducer(conn);
    const result = await producer.publishWindowed([
      { subject: `${subject}.a`, payload: 1 },
      null as unknown as WindowItem,
      { subject: `${subject}.a`, payload: 3 },
    ]);
    assert.equal(result.published, 2);
    assert.equal(result.failed[0]?.index, 1);
    assert.ok(result.failed[0]?.error instanceof ErrInvalidOption);
    assert.match(String(result.failed[0]?.error), /window item/);
    assert.equal(await stored(stream), 2);
  });

  it("publishes an item taken from the source before an abort, and takes no more", async () => {
    const { stream, subject } = await freshStream();
    const producer = createProducer(conn);
    const controller = new AbortController();
    let taken = 0;
    function* source(): Generator<WindowItem> {
      for (let i = 0; i < 100; i++) {
        taken++;
        // The source itself aborts while handing over item 5 (a consumer acting on a signal).
        if (i === 5) controller.abort(new Error("stop"));
        yield { subject: `${subject}.a`, payload: i };
      }
    }
    await assert.rejects(producer.publishWindowed(source(), { signal: controller.signal }), /stop/);
    assert.equal(taken, 6);
    assert.equal(await stored(stream), 6);
  });

  it("retries acks that come too late with the same msg id: every message stored once", async () => {
    const own = await startServer();
    const ownConn = await connect(withServers(own.url));
    try {
      const jsm = await ownConn.jetstreamManager();
      await jsm.streams.add({ name: "LATE", subjects: ["late.>"], storage: "file" });
      const producer = createProducer(
        ownConn,
        withPublishTimeout("300ms"),
        withPublishRetries(20),
        withRetryBackoff("100ms", "200ms"),
      );
      // The server stops answering while the window is full: every first ack is late.
      process.kill(own.pid as number, "SIGSTOP");
      const resume = setTimeout(() => process.kill(own.pid as number, "SIGCONT"), 800);
      let result: Awaited<ReturnType<typeof producer.publishWindowed>>;
      try {
        result = await producer.publishWindowed(numbered("late.a", 200, "late"));
      } finally {
        clearTimeout(resume);
        process.kill(own.pid as number, "SIGCONT");
      }
      assert.deepEqual(result.failed, []);
      assert.equal(result.published + result.duplicates, 200);
      assert.equal((await jsm.streams.info("LATE")).state.messages, 200);
    } finally {
      await ownConn.close();
      await own.stop();
    }
  });

  it("fails what was not acknowledged with ErrConnectionClosed when the connection closes mid-window", async () => {
    const { stream, subject } = await freshStream();
    const closing = await connect(withServers(server.url));
    const producer = createProducer(closing, withPublishRetries(1));
    function* closeAfter(n: number): Generator<WindowItem> {
      for (let i = 0; i < 2000; i++) {
        if (i === n) void closing.close();
        yield { subject: `${subject}.a`, payload: i };
      }
    }
    const result = await producer.publishWindowed(closeAfter(300));
    assert.ok(result.failed.length > 0, "some items failed");
    assert.equal(result.published + result.failed.length, 2000);
    for (const { error } of result.failed) {
      assert.ok(isJetrouteError(error, ErrorCode.ConnectionClosed), String(error));
      assert.ok(error instanceof ErrConnectionClosed);
    }
    // Sent but not acknowledged before the close: stored or not, the caller cannot know.
    const storedCount = await stored(stream);
    assert.ok(storedCount >= result.published && storedCount <= 2000, `${storedCount} stored`);
  });
});

/** The server's subscription count (`/varz` `subscriptions`), from its monitoring port. */
function subscriptionsOnServer(httpPort: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${httpPort}/varz`, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve((JSON.parse(body) as { subscriptions: number }).subscriptions));
    }).on("error", reject);
  });
}
