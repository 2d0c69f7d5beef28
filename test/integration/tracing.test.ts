// OpenTelemetry traces: publishes carry the W3C trace context, every handled message gets a
// process span that is a child of its publisher's send span, with the messaging semantic
// conventions' attributes, retry and dead-letter events; nothing happens without an SDK.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type Context,
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
// A devDependency pinned to sdk-trace-base's own copy: the W3C propagator lives in core.
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Broker, withConnection, withShutdownTimeout } from "../../src/broker/index.js";
import { UNSETTLED_DELIVERY_ALLOWANCE } from "../../src/consumer/settle.js";
import { createProducer } from "../../src/producer/index.js";
import {
  ack,
  fixed,
  type Message,
  reject,
  route,
  withBackoff,
  withDLQ,
  withDurable,
  withFanOut,
  withMaxDeliver,
  withQueueGroup,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { TraceAttribute as A, TraceEvent, withTracing } from "../../src/tracing/index.js";
import { checkLeaksAfterAll, gate, useServer } from "../helpers/index.js";
import { makeStream, runBroker, unique, until, useConnection } from "./engine-support.js";

checkLeaksAfterAll();

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

/** The spans an exporter holds once `count` of them match. */
async function spansWhere(
  exporter: InMemorySpanExporter,
  match: (s: ReadableSpan) => boolean,
  count = 1,
): Promise<ReadableSpan[]> {
  await until(() => exporter.getFinishedSpans().filter(match).length >= count);
  return exporter.getFinishedSpans().filter(match);
}

const named = (name: string) => (s: ReadableSpan) => s.name === name;

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected one, got ${items.length}`);
  return items[0] as T;
}

/** Asserts `child`'s parent is `parent` (same trace, parent span id = the parent's span id). */
function assertChildOf(child: ReadableSpan, parent: ReadableSpan): void {
  assert.equal(child.spanContext().traceId, parent.spanContext().traceId, "same trace");
  assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId, "parent span id");
}

describe("traces with no OpenTelemetry SDK registered", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("handles messages and request-reply as usual, and publishes no traceparent", async () => {
    const stream = unique("NOSDK");
    const prefix = await makeStream(conn, stream);
    const seen: (string | undefined)[] = [];
    const run = runBroker(conn, (b) => {
      b.register(
        route(
          "work",
          async (msg) => {
            seen.push(msg.header("traceparent"));
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.work`),
        ),
        route(
          "echo",
          async (msg) => msg.json(),
          withSubject(`${prefix}_rpc.echo`),
          withRequestReply(),
        ),
      );
    });
    await run.broker.started();
    const producer = createProducer(conn);
    await producer.publishJetStream(`${prefix}.work`, { n: 1 });
    const reply = await producer.request(`${prefix}_rpc.echo`, "hi");
    await until(() => seen.length === 1);
    await run.stop();
    assert.equal(reply, "hi");
    assert.deepEqual(seen, [undefined]);
  });

  it("traces through a provider and propagator given with withTracing, not the globals", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracing = withTracing({
      tracerProvider: provider,
      propagator: new W3CTraceContextPropagator(),
    });
    const prefix = unique("own").toLowerCase();
    const headers: (string | undefined)[] = [];
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "own",
            async (msg) => {
              headers.push(msg.header("traceparent"));
            },
            withSubject(`${prefix}.x`),
            withFanOut(),
          ),
        ),
      tracing,
    );
    await run.broker.started();
    createProducer(conn, tracing).publish(`${prefix}.x`, "hello");
    const [process] = await spansWhere(exporter, named(`process ${prefix}.x`));
    await run.stop();
    const send = only(exporter.getFinishedSpans().filter(named(`send ${prefix}.x`)));
    assertChildOf(process as ReadableSpan, send);
    assert.match(headers[0] ?? "", TRACEPARENT);
    await provider.shutdown();
  });

  it("handles every message and publish when the propagator throws: tracing fails open", async () => {
    const provider = new BasicTracerProvider();
    const broken = new W3CTraceContextPropagator();
    broken.extract = () => {
      throw new Error("broken extract");
    };
    broken.inject = () => {
      throw new Error("broken inject");
    };
    const tracing = withTracing({ tracerProvider: provider, propagator: broken });
    const stream = unique("BROKEN");
    const prefix = await makeStream(conn, stream);
    const handled: number[] = [];
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "broken",
            async (msg) => {
              handled.push(msg.deliveryCount);
            },
            withStream(stream),
            withSubject(`${prefix}.a`),
          ),
        ),
      tracing,
    );
    await run.broker.started();
    const producer = createProducer(conn, tracing);
    // Headers on the messages, so the route's span has something to extract (and throws).
    const headers = { "x-order": "1" };
    const ack = await producer.publishJetStream(`${prefix}.a`, "one", { headers });
    assert.equal(ack.duplicate, false);
    producer.publish(`${prefix}.a`, "two", { headers });
    await until(() => handled.length === 2);
    await run.stop();
    assert.deepEqual(handled, [1, 1]);
    assert.ok(run.logger.lines.some((l) => /metrics or tracing failed/.test(String(l.msg))));
    await provider.shutdown();
  });
});

describe("traces with an SDK registered", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("test");

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  after(async () => {
    trace.disable();
    context.disable();
    propagation.disable();
    await provider.shutdown();
  });

  /** Runs `fn` inside a fresh root span of the test, ended after. */
  async function inRootSpan<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
    return tracer.startActiveSpan("test root", async (span) => {
      try {
        return await fn(context.active());
      } finally {
        span.end();
      }
    });
  }

  it("makes the consumer's process span a child of the publisher's send span", async () => {
    const stream = unique("TRACE");
    const prefix = await makeStream(conn, stream);
    const subject = `${prefix}.orders.created`;
    const received: Message[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "orders",
          async (msg) => {
            received.push(msg);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.orders.*`),
        ),
      ),
    );
    await run.broker.started();
    const ackd = await inRootSpan(() =>
      createProducer(conn).publishJetStream(subject, { id: 7 }, { msgId: "order-7" }),
    );
    const process = only(await spansWhere(exporter, named(`process ${prefix}.orders.*`)));
    await run.stop();
    const send = only(exporter.getFinishedSpans().filter(named(`send ${subject}`)));
    const root = only(
      exporter
        .getFinishedSpans()
        .filter(
          (s) =>
            s.name === "test root" && s.spanContext().spanId === send.parentSpanContext?.spanId,
        ),
    );

    assertChildOf(process, send);
    assertChildOf(send, root);
    assert.equal(process.links[0]?.context.spanId, send.spanContext().spanId, "linked too");
    assert.equal(
      received[0]?.header("traceparent"),
      `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`,
    );
    assert.equal(send.kind, SpanKind.PRODUCER);
    // server.address / server.port: the server the connection is on (nats.js getServer()).
    const [host, port] = conn.nats.getServer().split(":") as [string, string];
    const server = { [A.ServerAddress]: host, [A.ServerPort]: Number(port) };
    assert.deepEqual(send.attributes, {
      ...server,
      [A.System]: "nats",
      [A.DestinationName]: subject,
      [A.OperationType]: "send",
      [A.OperationName]: "send",
      [A.BodySize]: Buffer.byteLength('{"id":7}'),
      [A.MessageId]: "order-7",
      [A.Stream]: stream,
      [A.StreamSequence]: ackd.seq,
      [A.Duplicate]: false,
    });
    assert.equal(process.kind, SpanKind.CONSUMER);
    assert.deepEqual(process.attributes, {
      ...server,
      [A.System]: "nats",
      [A.OperationType]: "process",
      [A.OperationName]: "process",
      [A.Route]: "orders",
      [A.ConsumerGroup]: "orders",
      [A.Stream]: stream,
      [A.DestinationName]: subject,
      [A.DestinationTemplate]: `${prefix}.orders.*`,
      [A.BodySize]: Buffer.byteLength('{"id":7}'),
      [A.MessageId]: "order-7",
      [A.StreamSequence]: ackd.seq,
      [A.DeliveryCount]: 1,
      [A.Outcome]: "acked",
    });
    assert.equal(process.status.code, SpanStatusCode.UNSET);
  });

  it("records a retried failure and the dead letter as events on each delivery's span", async () => {
    const stream = unique("TRACE");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "flaky",
          async () => {
            throw new Error("database down");
          },
          withStream(stream),
          withSubject(`${prefix}.jobs`),
          withMaxDeliver(2),
          withBackoff(fixed("50ms")),
          withDLQ(`${prefix}.dlq`),
        ),
      ),
    );
    await run.broker.started();
    await createProducer(conn).publishJetStream(`${prefix}.jobs`, "job");
    const spans = await spansWhere(exporter, named(`process ${prefix}.jobs`), 2);
    await run.stop();
    const send = only(exporter.getFinishedSpans().filter(named(`send ${prefix}.jobs`)));
    const [first, second] = [...spans].sort(
      (a, b) => Number(a.attributes[A.DeliveryCount]) - Number(b.attributes[A.DeliveryCount]),
    ) as [ReadableSpan, ReadableSpan];

    for (const span of [first, second]) {
      assertChildOf(span, send);
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.status.message, "database down");
      assert.equal(span.attributes[A.ErrorType], "Error");
      assert.ok(
        span.events.some((e) => e.name === "exception"),
        "exception recorded",
      );
    }
    assert.equal(first.attributes[A.DeliveryCount], 1);
    assert.equal(first.attributes[A.Outcome], "retried");
    const retry = only(first.events.filter((e) => e.name === TraceEvent.Retry));
    assert.equal(retry.attributes?.[A.RetryDelayMs], 50);

    assert.equal(second.attributes[A.DeliveryCount], 2);
    assert.equal(second.attributes[A.Outcome], "dead_lettered");
    const dead = only(second.events.filter((e) => e.name === TraceEvent.DeadLetter));
    assert.match(String(dead.attributes?.[A.DeadLetterReason]), /database down/);
  });

  it("gives a message dead-lettered unhandled (its deliveries never settled) a span with the dead letter event", async () => {
    const stream = unique("TRACE");
    const prefix = await makeStream(conn, stream);
    const subject = `${prefix}.crashy`;
    let ran = 0;
    const crashy = () =>
      route(
        "crashy",
        async () => {
          ran++;
        },
        withStream(stream),
        withSubject(subject),
        withDurable("crashy"),
        withMaxDeliver(1),
        withDLQ(`${prefix}.dlq`),
      );
    // Create the durable, then let a raw client take the message 6 times without settling it
    // (what a process crashing in the handler each time leaves behind: nak'd here, for speed).
    const first = runBroker(conn, (b) => b.register(crashy()));
    await first.broker.started();
    await first.stop();
    await createProducer(conn).publishJetStream(subject, "poison");
    const consumer = await conn.jetstream.consumers.get(stream, "crashy");
    for (let i = 1; i <= UNSETTLED_DELIVERY_ALLOWANCE + 1; i++) {
      const m = await consumer.next({ expires: 2_000 });
      assert.equal(m?.info.deliveryCount, i);
      m?.nak();
    }
    const run = runBroker(conn, (b) => b.register(crashy()));
    const span = only(await spansWhere(exporter, named(`process ${subject}`), 1));
    await run.stop();
    assert.equal(ran, 0);
    assert.equal(span.attributes[A.Outcome], "dead_lettered");
    assert.equal(span.attributes[A.DeliveryCount], UNSETTLED_DELIVERY_ALLOWANCE + 2);
    const dead = only(span.events.filter((e) => e.name === TraceEvent.DeadLetter));
    assert.match(String(dead.attributes?.[A.DeadLetterReason]), /without settling/);
  });

  it("makes a publish inside a handler a child of the handler's process span", async () => {
    const stream = unique("TRACE");
    const prefix = await makeStream(conn, stream);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "first",
          async (msg, ctx) => {
            // Headers passed on as received: the stale traceparent must give way.
            const headers = Object.fromEntries(msg.headers) as Record<string, string[]>;
            await ctx.producer.publishJetStream(`${prefix}.second`, msg.data, { headers });
          },
          withStream(stream),
          withSubject(`${prefix}.first`),
        ),
        route("second", async () => {}, withStream(stream), withSubject(`${prefix}.second`)),
      ),
    );
    await run.broker.started();
    await createProducer(conn).publishJetStream(`${prefix}.first`, "go");
    const secondProcess = only(await spansWhere(exporter, named(`process ${prefix}.second`)));
    await run.stop();
    const spans = exporter.getFinishedSpans();
    const firstProcess = only(spans.filter(named(`process ${prefix}.first`)));
    const innerSend = only(spans.filter(named(`send ${prefix}.second`)));

    assertChildOf(innerSend, firstProcess);
    assertChildOf(secondProcess, innerSend);
  });

  it("keeps a creation context the caller put in the headers for another trace, and links it", async () => {
    const prefix = unique("kept").toLowerCase();
    const theirs = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const seen: (string | undefined)[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "kept",
          async (msg) => {
            seen.push(msg.header("traceparent"));
          },
          withSubject(`${prefix}.x`),
          withQueueGroup("workers"),
        ),
      ),
    );
    await run.broker.started();
    await inRootSpan(async () => {
      createProducer(conn).publish(`${prefix}.x`, "hi", { headers: { traceparent: theirs } });
    });
    const process = only(await spansWhere(exporter, named(`process ${prefix}.x`)));
    await run.stop();
    const send = only(exporter.getFinishedSpans().filter(named(`send ${prefix}.x`)));

    assert.deepEqual(seen, [theirs]);
    assert.equal(send.links[0]?.context.spanId, "b7ad6b7169203331");
    assert.equal(process.parentSpanContext?.spanId, "b7ad6b7169203331");
    assert.equal(process.spanContext().traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(process.attributes[A.ConsumerGroup], "workers");
  });

  it("traces a request-reply route, with an error reply's code on both sides", async () => {
    const prefix = unique("rpc").toLowerCase();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "quote",
          async (msg) => (msg.json() === "bad" ? reject("no such item", { code: 404 }) : "42"),
          withSubject(`${prefix}.quote`),
          withRequestReply(),
        ),
      ),
    );
    await run.broker.started();
    const producer = createProducer(conn);
    assert.equal(await producer.request(`${prefix}.quote`, "good"), "42");
    await assert.rejects(producer.request(`${prefix}.quote`, "bad"), { code: "ERR_SERVICE_ERROR" });
    const spans = await spansWhere(exporter, named(`process ${prefix}.quote`), 2);
    await run.stop();
    const sends = exporter.getFinishedSpans().filter(named(`send ${prefix}.quote`));
    const failed = only(spans.filter((s) => s.attributes[A.Outcome] === "error"));
    const ok = only(spans.filter((s) => s.attributes[A.Outcome] === "ok"));
    const failedSend = only(sends.filter((s) => s.status.code === SpanStatusCode.ERROR));

    assertChildOf(failed, failedSend);
    assert.equal(ok.status.code, SpanStatusCode.UNSET);
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.attributes[A.ReplyErrorCode], 404);
    assert.equal(failed.attributes[A.ErrorType], "404");
    assert.equal(failedSend.attributes[A.ReplyErrorCode], 404);
    assert.equal(failedSend.attributes[A.ErrorType], "ERR_SERVICE_ERROR");
  });

  it("records a request cut off by the shutdown with the 503 its caller got", async () => {
    const prefix = unique("cut").toLowerCase();
    const release = gate();
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          // Ignores ctx.signal: the grace ends and the caller is answered 503 "shutdown timeout".
          route("slow", () => release.promise, withSubject(`${prefix}.q`), withRequestReply()),
        ),
      withShutdownTimeout("50ms"),
    );
    await run.broker.started();
    const reply = createProducer(conn)
      .request(`${prefix}.q`, {}, { timeoutMs: 5_000 })
      .then(
        () => assert.fail("expected a 503"),
        (err: unknown) => err,
      );
    await until(() => run.broker.stats().slow?.inFlight === 1);
    await run.stop();
    assert.match(String(await reply), /503: shutdown timeout/);
    release.open(); // the handler returns late; what it would have answered was never sent
    const span = only(await spansWhere(exporter, named(`process ${prefix}.q`), 1));
    assert.equal(span.attributes[A.ReplyErrorCode], 503);
    assert.equal(span.attributes[A.ReplyErrorDescription], "shutdown timeout");
  });

  it("creates no spans and injects nothing with withTracing(false)", async () => {
    const prefix = unique("off").toLowerCase();
    const seen: (string | undefined)[] = [];
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "off",
            async (msg) => {
              seen.push(msg.header("traceparent"));
            },
            withSubject(`${prefix}.x`),
            withFanOut(),
          ),
        ),
      withTracing(false),
    );
    await run.broker.started();
    createProducer(conn, withTracing(false)).publish(`${prefix}.x`, "quiet");
    await until(() => seen.length === 1);
    await run.stop();
    assert.deepEqual(seen, [undefined]);
    assert.equal(exporter.getFinishedSpans().filter((s) => s.name.includes(prefix)).length, 0);
  });
});

describe("withTracing", () => {
  it("refuses anything but a boolean or { tracerProvider?, propagator? }", async () => {
    const server = await useServer();
    const conn = await useConnection(server.url);
    for (const bad of ["yes", 1, null, { tracerProvider: {} }, { propagator: 3 }, { sampler: 1 }]) {
      const option = withTracing(bad as never);
      assert.throws(() => new Broker(withConnection(conn), option), { code: "ERR_INVALID_OPTION" });
      assert.throws(() => createProducer(conn, option), { code: "ERR_INVALID_OPTION" });
    }
  });
});
