// withHttpEndpoint: /healthz, /readyz and /metrics as probes and scrapers see them, on a real
// nats-server; the server lives exactly as long as run().
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import type { BrokerAttachment, BrokerDraft, BrokerOption } from "../../src/broker/index.js";
import {
  Broker,
  ErrHttpListen,
  ErrorCode,
  route,
  withConnection,
  withFanOut,
  withHttpEndpoint,
  withMetrics,
  withStream,
  withSubject,
} from "../../src/index.js";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll, gate, until, useServer } from "../helpers/index.js";
import { makeStream, runBroker, unique, useConnection } from "./engine-support.js";
import { sample } from "./metrics-support.js";

checkLeaksAfterAll();

const LOCAL = { port: 0, host: "127.0.0.1" } as const;

interface Got {
  readonly status: number;
  readonly type: string | null;
  readonly body: string;
}

async function get(url: string, init?: RequestInit): Promise<Got> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

/** The endpoint's base URL once it listens. */
async function baseUrl(broker: Broker): Promise<string> {
  await until(() => broker.httpAddress() !== undefined);
  return broker.httpAddress()?.url as string;
}

/** An attachment whose stop() waits for `until`: keeps the endpoint up after the routes ended. */
function holdStop(until: Promise<void>): BrokerOption {
  const hold: BrokerAttachment = {
    name: "hold",
    start: async () => ({ stop: () => until }),
  };
  return (d: BrokerDraft) => {
    d.attachments.push(hold);
  };
}

describe("withHttpEndpoint", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const fanOut = () => route("fan", async () => {}, withSubject(unique("fan")), withFanOut());

  it("answers /healthz and /readyz with 200 and JSON while every route runs", async () => {
    const run = runBroker(conn, (b) => b.register(fanOut()), withHttpEndpoint(LOCAL));
    await run.broker.started();
    const url = await baseUrl(run.broker);
    const health = await get(`${url}/healthz`);
    const ready = await get(`${url}/readyz`);
    await run.stop();
    assert.equal(health.status, 200);
    assert.match(health.type ?? "", /^application\/json/);
    assert.deepEqual(JSON.parse(health.body), { live: true, state: "running" });
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { ready: true, state: "running", notReady: [] });
  });

  it("/readyz is 503 naming the route while it is starting, and 200 once it runs", async () => {
    const own = await startServer();
    try {
      const c = await useConnection(own.url);
      const stream = unique("HTTP");
      const prefix = await makeStream(c, stream);
      // A paused server: the route's stream and consumer checks wait, so it stays starting.
      process.kill(own.pid as number, "SIGSTOP");
      let run: ReturnType<typeof runBroker>;
      try {
        run = runBroker(
          c,
          (b) =>
            b.register(
              route("svc", async () => {}, withStream(stream), withSubject(`${prefix}.a`)),
            ),
          withHttpEndpoint(LOCAL),
        );
        const starting = await get(`${await baseUrl(run.broker)}/readyz`);
        assert.equal(starting.status, 503);
        const body = JSON.parse(starting.body) as { ready: boolean; notReady: string[] };
        assert.equal(body.ready, false);
        assert.ok(body.notReady.includes('route "svc" is starting'), starting.body);
      } finally {
        process.kill(own.pid as number, "SIGCONT");
      }
      await run.broker.started();
      const url = await baseUrl(run.broker);
      await until(async () => (await get(`${url}/readyz`)).status === 200);
      await run.stop();
    } finally {
      await own.stop();
    }
  });

  it("/readyz is 503 after the connection drops and 200 again once it is back; /metrics counts the reconnect", async () => {
    const own = await startServer();
    try {
      const c = await useConnection(own.url);
      const run = runBroker(c, (b) => b.register(fanOut()), withHttpEndpoint(LOCAL), withMetrics());
      await run.broker.started();
      const url = await baseUrl(run.broker);
      assert.equal((await get(`${url}/readyz`)).status, 200);
      await own.kill();
      const down = await get(`${url}/readyz`);
      const downMetrics = (await get(`${url}/metrics`)).body;
      assert.equal(down.status, 503);
      assert.match(
        (JSON.parse(down.body) as { notReady: string[] }).notReady[0] ?? "",
        /not connected to NATS/,
      );
      assert.equal(sample(downMetrics, "jetroute_connection_connected"), 0);
      assert.equal(
        (await get(`${url}/healthz`)).status,
        200,
        "a lost connection is not a dead process",
      );
      await own.restart();
      await until(async () => (await get(`${url}/readyz`)).status === 200);
      const upMetrics = (await get(`${url}/metrics`)).body;
      await run.stop();
      assert.equal(sample(upMetrics, "jetroute_connection_connected"), 1);
      assert.equal(sample(upMetrics, "jetroute_connection_reconnects_total"), 1);
    } finally {
      await own.stop();
    }
  });

  it("/healthz is 503 once the broker failed", async () => {
    const release = gate();
    const run = runBroker(
      conn,
      (b) =>
        b.register(route("svc", async () => {}, withStream(unique("NOPE")), withSubject("nope.a"))),
      withHttpEndpoint(LOCAL),
      holdStop(release.promise),
    );
    const url = await baseUrl(run.broker);
    await until(async () => (await run.broker.health()).state === "failed");
    const failed = await get(`${url}/healthz`);
    const ready = await get(`${url}/readyz`);
    release.open();
    await assert.rejects(run.done, { code: ErrorCode.RouteFailed });
    assert.equal(failed.status, 503);
    assert.deepEqual(JSON.parse(failed.body), { live: false, state: "failed" });
    assert.equal(ready.status, 503);
  });

  it("/metrics serves the Prometheus text of withMetrics' registry", async () => {
    const run = runBroker(
      conn,
      (b) => b.register(fanOut()),
      withHttpEndpoint(LOCAL),
      withMetrics(),
    );
    await run.broker.started();
    const url = await baseUrl(run.broker);
    const metrics = await get(`${url}/metrics`);
    const own = await run.broker.metricsRegistry()?.metrics();
    await run.stop();
    assert.equal(metrics.status, 200);
    assert.equal(metrics.type, "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(sample(metrics.body, "jetroute_route_running", { route: "fan" }), 1);
    assert.equal(sample(metrics.body, "jetroute_messages_received_total", { route: "fan" }), 0);
    assert.match(own ?? "", /# TYPE jetroute_handler_duration_seconds histogram/);
  });

  it("/metrics is 404 saying to add withMetrics() when metrics are off", async () => {
    const run = runBroker(conn, (b) => b.register(fanOut()), withHttpEndpoint(LOCAL));
    await run.broker.started();
    const url = await baseUrl(run.broker);
    const metrics = await get(`${url}/metrics`);
    await run.stop();
    assert.equal(metrics.status, 404);
    assert.match(metrics.body, /add withMetrics\(\)/);
    assert.equal(run.broker.metricsRegistry(), undefined);
  });

  it("answers unknown paths with 404 and other methods than GET with 405", async () => {
    const run = runBroker(conn, (b) => b.register(fanOut()), withHttpEndpoint(LOCAL));
    await run.broker.started();
    const url = await baseUrl(run.broker);
    const unknown = await get(`${url}/nope`);
    const post = await fetch(`${url}/healthz`, { method: "POST" });
    await post.text();
    const head = await fetch(`${url}/healthz`, { method: "HEAD" });
    const query = await get(`${url}/healthz?verbose=1`);
    await run.stop();
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /\/healthz, \/readyz and \/metrics/);
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.equal(head.status, 200);
    assert.equal(query.status, 200);
  });

  it("listens on an OS-chosen port for port 0, gives its address only while run() runs, and closes keep-alive sockets at the end", async () => {
    const run = runBroker(conn, (b) => b.register(fanOut()), withHttpEndpoint(LOCAL));
    const url = await baseUrl(run.broker);
    const address = run.broker.httpAddress();
    assert.equal(address?.host, "127.0.0.1");
    assert.ok((address?.port ?? 0) > 0);
    assert.equal(url, `http://127.0.0.1:${address?.port}`);
    await run.broker.started();
    // fetch keeps the connection alive; stop must not wait for it to idle out.
    assert.equal((await get(`${url}/healthz`)).status, 200);
    const t0 = performance.now();
    await run.stop();
    assert.ok(
      performance.now() - t0 < 2_000,
      "run() ended without waiting for the keep-alive socket",
    );
    assert.equal(run.broker.httpAddress(), undefined);
    await assert.rejects(fetch(`${url}/healthz`));
    const idle = new Broker(withConnection(conn), withHttpEndpoint(LOCAL));
    assert.equal(idle.httpAddress(), undefined, "not listening before run()");
  });

  it("rejects run() with ErrHttpListen naming the port when it is already in use, before any route starts", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      let started = false;
      const broker = new Broker(
        withConnection(conn),
        withHttpEndpoint({ port, host: "127.0.0.1" }),
      );
      broker.register(
        route(
          "fan",
          async () => {
            started = true;
          },
          withSubject(unique("fan")),
          withFanOut(),
        ),
      );
      const err = await broker.run().then(
        () => assert.fail("run() resolved"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ErrHttpListen, String(err));
      assert.equal(err.code, "ERR_HTTP_LISTEN");
      assert.match(err.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.match(err.message, /withHttpEndpoint\(\{ port \}\)/);
      assert.equal((err.cause as NodeJS.ErrnoException).code, "EADDRINUSE");
      assert.equal(started, false);
      assert.equal((await broker.health()).state, "failed");
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
