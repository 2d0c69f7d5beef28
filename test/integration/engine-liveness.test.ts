import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, withServers } from "../../src/conn/index.js";
import { ack, route, withAckWait, withStream, withSubject } from "../../src/router/index.js";
import { startTcpProxy } from "../../src/testing/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  makeStream,
  publishMany,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

// The example, end to end, with the default settings: the engine's pull hears no
// heartbeat, re-pulls, then probes the flow and forces a reconnect (nats.js 3.4 consume() left
// the route stalled until its pings gave up, 4-6 min by default).

describe("JetStream route behind a TCP flow that dies silently", async () => {
  const server = await useServer();
  const direct = await useConnection(server.url);

  it("processes new messages again within 45 s", { timeout: 60_000 }, async () => {
    const proxy = await startTcpProxy(server.url);
    after(() => proxy.close());
    const conn = await connect(withServers(proxy.url));
    after(() => conn.close());
    const stream = unique("LIVE");
    const prefix = await makeStream(direct, stream);
    let handled = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "live",
          async () => {
            handled++;
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          // What the server sent into the dead flow comes back after ack wait.
          withAckWait("10s"),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(direct, `${prefix}.first`, 1);
    await until(() => handled === 1);

    proxy.blackhole();
    const started = performance.now();
    await publishMany(direct, `${prefix}.after`, 5);
    while (handled < 6 && performance.now() - started < 45_000) await sleep(50);
    const elapsed = performance.now() - started;
    await run.stop();
    assert.equal(handled - 1, 5, `${handled - 1} of 5 handled in ${Math.round(elapsed)} ms`);
  });

  it("recreates a durable deleted while its flow was dead and handles what came meanwhile", {
    timeout: 60_000,
  }, async () => {
    const proxy = await startTcpProxy(server.url);
    after(() => proxy.close());
    const conn = await connect(withServers(proxy.url));
    after(() => conn.close());
    const stream = unique("AWAY");
    const prefix = await makeStream(direct, stream);
    let before = 0;
    let meanwhile = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "away",
          async (m) => {
            if (m.subject.endsWith(".before")) before++;
            else meanwhile++;
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(direct, `${prefix}.before`, 1);
    await until(() => before === 1);

    proxy.blackhole();
    const jsm = await direct.jetstreamManager();
    await jsm.consumers.delete(stream, "away");
    await publishMany(direct, `${prefix}.after`, 10);
    const started = performance.now();
    while (meanwhile < 10 && performance.now() - started < 45_000) await sleep(50);
    const stats = run.broker.stats().away;
    await run.stop();
    assert.equal(meanwhile, 10, "the messages published while away were handled");
    assert.ok(stats !== undefined && "consumerRecreated" in stats && stats.consumerRecreated === 1);
  });
});
