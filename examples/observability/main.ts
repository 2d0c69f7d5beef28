// An observable service: a Broker with Prometheus metrics (withMetrics), an HTTP endpoint
// (withHttpEndpoint) for Kubernetes probes and a Prometheus scrape, and OpenTelemetry traces
// (an SDK registered first; jetroute traces through the global API). It publishes a few orders
// (one fails once and is retried, one is rejected and dead-lettered), prints where to look and
// the counters a scrape sees, then keeps serving until Ctrl-C / SIGTERM, when it drains, closes
// the endpoint and exits.
//
//   npm run example observability             (embedded nats-server, port 9464)
//   PORT=8080 NATS_URL=nats://host:4222 npm run example observability
//   curl -s localhost:9464/metrics | grep jetroute_messages_settled_total
import {
  Broker,
  connect,
  createLogger,
  createProducer,
  ensureStream,
  fixed,
  reject,
  route,
  withBackoff,
  withConnection,
  withDLQ,
  withHttpEndpoint,
  withLogger,
  withMaxDeliver,
  withMetrics,
  withName,
  withServers,
  withShutdownTimeout,
  withStream,
  withSubject,
  withSubjects,
} from "../../src/index.js";
import { natsForExample, shutdownSignal } from "../shared/nats.js";
import { startTracing } from "./tracing.js";

const STREAM = "OBSERVABILITY";
const SUBJECT = "observability.orders";
const DLQ = "observability.dlq";
/** What a scrape of this run should count: 5 orders, one retried once, one dead-lettered. */
const ORDERS = ["o1", "o2", "flaky", "o3", "poison"];

// Register the OpenTelemetry SDK before anything publishes or consumes (tracing.ts).
const spans = startTracing();
const signal = shutdownSignal();
const port = Number(process.env.PORT ?? 9464);
const log = createLogger({ base: { service: "observability" } });
const nats = await natsForExample();
const conn = await connect(withServers(nats.url), withName("observability"), withLogger(log));
try {
  await ensureStream(conn, STREAM, withSubjects(SUBJECT, DLQ));
  const broker = new Broker(
    withConnection(conn),
    withLogger(log),
    withShutdownTimeout("5s"),
    withMetrics(),
    withHttpEndpoint({ port }),
  );
  broker.register(
    route(
      "orders",
      async (msg) => {
        const { id } = msg.json<{ id: string }>();
        if (id === "poison") return reject(`order ${id} can never be fulfilled`);
        if (id === "flaky" && msg.deliveryCount === 1) throw new Error("warehouse timed out");
      },
      withStream(STREAM),
      withSubject(SUBJECT),
      withMaxDeliver(3),
      withBackoff(fixed("100ms")),
      withDLQ(DLQ),
    ),
  );
  const running = broker.run(signal);
  // A failed start (the port taken, say) is thrown by started() below, with the same error.
  running.catch(() => {});
  await broker.started();
  const address = broker.httpAddress();
  if (address === undefined) throw new Error("the HTTP endpoint is not listening");

  // Each publish starts a trace: a "send" span whose context travels in the message headers.
  const producer = createProducer(conn);
  for (const id of ORDERS) await producer.publishJetStream(SUBJECT, { id }, { msgId: id });
  const stats = () => broker.stats().orders;
  while (!signal.aborted) {
    const s = stats();
    if (s !== undefined && "acked" in s && s.acked >= 4 && s.deadLettered >= 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  const text = (await broker.metricsRegistry()?.metrics()) ?? "";
  console.log("what a scrape of /metrics counts for this run:");
  for (const line of text.split("\n")) {
    if (/^jetroute_messages_(received|settled)_total\{route="orders"/.test(line)) {
      console.log(`  ${line}`);
    }
  }
  console.log("traces (one per order: the publisher's send span, the route's process spans):");
  for (const line of spans.describe()) console.log(`  ${line}`);
  console.log(`liveness:  ${address.url}/healthz`);
  console.log(`readiness: ${address.url}/readyz`);
  console.log(`metrics:   ${address.url}/metrics`);
  console.log(`observability: serving on ${address.url} (Ctrl-C to stop)`);
  await running;
  console.log("observability: drained, endpoint closed");
} finally {
  await conn.close();
  await nats.stop();
}
