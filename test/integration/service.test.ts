// withService: the broker's request-reply routes as one NATS micro service, checked with the
// @nats-io/services client (nats.js's own implementation of the protocol), not our code.
import assert from "node:assert/strict";
import { get } from "node:http";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { QueuedIterator } from "@nats-io/nats-core";
import {
  type ServiceIdentity,
  type ServiceInfo,
  ServiceResponseType,
  type ServiceStats,
  Svcm,
} from "@nats-io/services";
import { Broker, withConnection } from "../../src/broker/index.js";
import { connect, withServers, withUserPass } from "../../src/conn/index.js";
import { ErrInvalidOption, ErrService, ErrServiceDiscoveryFailed } from "../../src/errors/index.js";
import { createProducer } from "../../src/producer/index.js";
import {
  reject,
  route,
  withFanOut,
  withQueueGroup,
  withRequestReply,
  withSubject,
} from "../../src/router/index.js";
import { withService } from "../../src/service/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { runBroker } from "./core-support.js";
import { unique } from "./engine-support.js";

checkLeaksAfterAll();

/** Every answer to one discovery request: the client waits 300 ms after the last one. */
async function all<T>(q: Promise<QueuedIterator<T>>): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const x of await q) out.push(x);
  } catch {
    // no responders: nobody answers, which is what some tests expect
  }
  return out;
}

/** The only answer to one discovery request (fails the test on none or several). */
async function one<T>(q: Promise<QueuedIterator<T>>): Promise<T> {
  const got = await all(q);
  assert.equal(got.length, 1, `expected one instance to answer, got ${got.length}`);
  return got[0] as T;
}

describe("service discovery (withService)", { timeout: 60_000 }, async () => {
  const server = await useServer({
    extraConfig: `authorization {
      users = [
        { user: "app", password: "app" }
        { user: "nosrv", password: "nosrv", permissions: { subscribe: { deny: ["$SRV.>"] } } }
      ]
    }`,
  });
  const conn = await connect(withServers(server.url), withUserPass("app", "app"));
  after(() => conn.close());
  const client = new Svcm(conn.nats).client({ strategy: "stall", stall: 300, maxWait: 5_000 });
  const producer = createProducer(conn);

  /** A request-reply route answering `{ n }` with `n * 2`, or failing as the payload says. */
  const doubler = (name: string, subject: string) =>
    route(
      name,
      async (m) => {
        const { n, fail } = m.json<{ n: number; fail?: "reject" | "throw" }>();
        await sleep(2);
        if (fail === "reject") return reject(`odd number ${n}`, { code: 422 });
        if (fail === "throw") throw new Error(`boom ${n}`);
        return n * 2;
      },
      withSubject(subject),
      withRequestReply(),
      withQueueGroup("doublers"),
    );

  it("answers PING on $SRV.PING, by name and by name + id with its name, version and metadata", async () => {
    const name = unique("pinger");
    await runBroker(
      conn,
      [doubler("double", unique("svc.double"))],
      withService({ name, version: "1.2.3-rc.1+b.7", metadata: { region: "eu" } }),
    );
    const byName = await one(client.ping(name));
    assert.equal(byName.type, ServiceResponseType.PING);
    assert.equal(byName.name, name);
    assert.equal(byName.version, "1.2.3-rc.1+b.7");
    assert.deepEqual(byName.metadata, { region: "eu" });
    assert.match(byName.id, /^[A-Za-z0-9]{22}$/, "a NUID");
    const byId = await one(client.ping(name, byName.id));
    assert.deepEqual(byId, byName);
    const everyone = await all<ServiceIdentity>(client.ping());
    assert.ok(everyone.some((p) => p.id === byName.id));
  });

  it("lists each request-reply route in INFO as an endpoint with its subject, queue group and metadata", async () => {
    const name = unique("info");
    const doubleSubject = unique("svc.double");
    const echoSubject = unique("svc.echo");
    await runBroker(
      conn,
      [
        doubler("double", doubleSubject),
        route("echo", async (m) => m.string(), withSubject(echoSubject), withRequestReply()),
        route("hidden", async () => 1, withSubject(unique("svc.hidden")), withRequestReply()),
        route("audit", async () => undefined, withSubject(unique("svc.audit")), withFanOut()),
      ],
      withService({
        name,
        version: "2.0.0",
        description: "doubles numbers",
        endpoints: { double: { metadata: { unit: "n" } }, hidden: false },
      }),
    );
    const info: ServiceInfo = await one(client.info(name));
    assert.equal(info.type, ServiceResponseType.INFO);
    assert.equal(info.name, name);
    assert.equal(info.version, "2.0.0");
    assert.equal(info.description, "doubles numbers");
    assert.deepEqual(info.metadata, {});
    assert.deepEqual(info.endpoints, [
      { name: "double", subject: doubleSubject, queue_group: "doublers", metadata: { unit: "n" } },
      { name: "echo", subject: echoSubject, queue_group: "", metadata: {} },
    ]);
    assert.deepEqual(await one(client.info(name, info.id)), info);
  });

  it("counts N requests and M errors exactly in STATS, with the last error as code:description", async () => {
    const name = unique("stats");
    const subject = unique("svc.double");
    await runBroker(conn, [doubler("double", subject)], withService({ name, version: "1.0.0" }));
    const started = Date.now();
    const ok = 7;
    for (let n = 0; n < ok; n++) assert.equal(await producer.request(subject, { n }), n * 2);
    const failures = ["reject", "throw", "reject"] as const;
    for (const [i, fail] of failures.entries()) {
      await assert.rejects(producer.request(subject, { n: 100 + i, fail }), ErrService);
    }
    const stats: ServiceStats = await one(client.stats(name));
    assert.equal(stats.type, ServiceResponseType.STATS);
    assert.equal(stats.name, name);
    assert.ok(Math.abs(Date.parse(stats.started) - started) < 5_000, stats.started);
    const [e] = stats.endpoints ?? [];
    assert.ok(e !== undefined && stats.endpoints?.length === 1);
    assert.equal(e.name, "double");
    assert.equal(e.subject, subject);
    assert.equal(e.queue_group, "doublers");
    assert.equal(e.num_requests, ok + failures.length);
    assert.equal(e.num_errors, failures.length);
    assert.equal(e.last_error, "422:odd number 102");
    // Every handler sleeps 2 ms: nanoseconds, so at least 2e6 per request, and far below 1 s.
    assert.ok(e.processing_time >= 10 * 2e6, `processing_time ${e.processing_time}`);
    assert.ok(e.average_processing_time >= 2e6 && e.average_processing_time < 1e9);
    assert.ok(Math.abs(e.average_processing_time - e.processing_time / 10) <= 1);
    // natscli validates answers against jsm.go's schemas: integers, and data an object
    assert.ok(Number.isInteger(e.processing_time) && Number.isInteger(e.average_processing_time));
    assert.deepEqual(e.data, {
      received: 10,
      handled: 10,
      failed: 1,
      dropped: 0,
      noReply: 0,
      abandoned: 0,
      inFlight: 0,
    });
    const byId = await one(client.stats(name, stats.id));
    assert.equal(byId.endpoints?.[0]?.num_requests, 10);
  });

  it("reports a thrown error as 500:<message> in last_error", async () => {
    const name = unique("thrown");
    const subject = unique("svc.double");
    await runBroker(conn, [doubler("double", subject)], withService({ name, version: "1.0.0" }));
    await assert.rejects(producer.request(subject, { n: 5, fail: "throw" }), ErrService);
    const [e] = (await one(client.stats(name))).endpoints ?? [];
    assert.equal(e?.num_errors, 1);
    assert.equal(e?.last_error, "500:boom 5");
  });

  it("answers as two instances, each with its own id and counts, when two brokers share a name", async () => {
    const name = unique("pair");
    const subject = unique("svc.double");
    const a = await runBroker(
      conn,
      [doubler("double", subject)],
      withService({ name, version: "1.0.0" }),
    );
    const b = await runBroker(
      conn,
      [doubler("double", subject)],
      withService({ name, version: "1.0.0" }),
    );
    for (let n = 0; n < 6; n++) await producer.request(subject, { n });
    const pings = await all(client.ping(name));
    assert.equal(pings.length, 2);
    assert.notEqual(pings[0]?.id, pings[1]?.id);
    const stats = await all(client.stats(name));
    const total = stats.reduce((sum, s) => sum + (s.endpoints?.[0]?.num_requests ?? 0), 0);
    assert.equal(total, 6, "the queue group splits the requests; the instances' counts add up");
    const handled = (r: typeof a) => r.broker.stats().double?.handled ?? 0;
    assert.equal(handled(a) + handled(b), 6);
    const first = pings[0]?.id as string;
    assert.equal((await one(client.ping(name, first))).id, first);
  });

  it("stops answering once run() ended, leaving no $SRV subscription on the server", async () => {
    const name = unique("gone");
    const r = await runBroker(
      conn,
      [doubler("double", unique("svc.double"))],
      withService({ name, version: "1.0.0" }),
    );
    const id = (await one(client.ping(name))).id;
    assert.ok((await srvSubscriptions(server.httpPort)).length >= 9);
    await r.stop();
    assert.deepEqual(await srvSubscriptions(server.httpPort), []);
    assert.deepEqual(await all(client.ping(name)), []);
    assert.deepEqual(await all(client.stats(name, id)), []);
  });

  it("rejects run() with ErrInvalidOption before any route starts when no request-reply route is registered", async () => {
    const subject = unique("svc.a");
    let handled = 0;
    const broker = new Broker(
      withConnection(conn),
      withService({ name: unique("empty"), version: "1.0.0" }),
    ).register(
      route(
        "audit",
        async () => {
          handled++;
        },
        withSubject(subject),
        withFanOut(),
      ),
    );
    await assert.rejects(broker.run(), ErrInvalidOption);
    assert.deepEqual(await srvSubscriptions(server.httpPort), []);
    // the fan-out route never subscribed: a message to it reaches no handler (the server
    // delivers to this connection before it answers the flush's PING)
    producer.publish(subject, { n: 1 });
    await conn.nats.flush();
    assert.equal(handled, 0);
    // health() says so too: the broker failed, and no route is left "starting"
    const h = await broker.health();
    assert.equal(h.state, "failed");
    assert.equal(h.routes.audit?.state, "stopped");
    assert.equal(broker.stats().audit?.received, 0);
  });

  it("rejects run() with ErrInvalidOption when endpoints names a route that is not request-reply", async () => {
    const broker = new Broker(
      withConnection(conn),
      withService({ name: unique("typo"), version: "1.0.0", endpoints: { dobule: false } }),
    ).register(doubler("double", unique("svc.double")));
    await assert.rejects(broker.run(), (err) => {
      assert.ok(err instanceof ErrInvalidOption);
      assert.match(err.message, /"dobule"/);
      return true;
    });
  });

  it("rejects run() with ErrInvalidOption when a route's name is not a valid endpoint name", async () => {
    const broker = new Broker(
      withConnection(conn),
      withService({ name: unique("dots"), version: "1.0.0" }),
    ).register(doubler("prices.quote", unique("svc.double")));
    await assert.rejects(broker.run(), ErrInvalidOption);
  });

  it("rejects run() with ErrServiceDiscoveryFailed when the user may not subscribe to $SRV.>", async () => {
    const limited = await connect(withServers(server.url), withUserPass("nosrv", "nosrv"));
    try {
      const broker = new Broker(
        withConnection(limited),
        withService({ name: unique("denied"), version: "1.0.0" }),
      ).register(doubler("double", unique("svc.double")));
      await assert.rejects(broker.run(), (err) => {
        assert.ok(err instanceof ErrServiceDiscoveryFailed);
        assert.match(String((err.cause as Error | undefined)?.message), /permissions violation/i);
        return true;
      });
    } finally {
      await limited.close();
    }
  });
});

/** `$SRV` subscriptions the server holds for any client, from `/connz?subs=1`. */
function srvSubscriptions(httpPort: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port: httpPort, path: "/connz?subs=1", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        const connz = JSON.parse(body) as { connections?: { subscriptions_list?: string[] }[] };
        const subs = (connz.connections ?? []).flatMap((c) => c.subscriptions_list ?? []);
        resolve(subs.filter((s) => s.startsWith("$SRV.")));
      });
    }).once("error", reject);
  });
}
