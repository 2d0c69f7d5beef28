import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { withShutdownTimeout } from "../../src/broker/index.js";
import { connect, withServers } from "../../src/conn/index.js";
import { ErrShutdownTimeout } from "../../src/errors/index.js";
import {
  ack,
  retry,
  route,
  withConcurrency,
  withPrefetch,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import type { Handler } from "../../src/router/types.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  gate,
  makeStream,
  publishMany,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("JetStream engine: shutdown", { timeout: 20_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("drains in-flight handlers on abort, releases buffered messages, and a new run processes each message once", async () => {
    const stream = unique("DRAIN");
    const prefix = await makeStream(conn, stream);
    const total = 30;
    const release = gate();
    const startedFirst: number[] = [];
    const ackedFirst = new Set<number>();
    const first: Handler = async (msg) => {
      const seq = msg.streamSequence ?? -1;
      startedFirst.push(seq);
      await release.promise;
      ackedFirst.add(seq);
      return ack();
    };
    // The default ack wait (30 s, past the suite's timeout): a message lost at shutdown (sent
    // to the first run's inbox as it unsubscribed) would only come back after it, so the
    // second run finishing proves every buffered message was released.
    const options = [
      withStream(stream),
      withSubject(`${prefix}.>`),
      withConcurrency(2),
      withPrefetch(4),
    ];
    const one = runBroker(conn, (b) => b.register(route("drainer", first, ...options)));
    await one.broker.started();
    await publishMany(conn, `${prefix}.job`, total);
    await until(() => startedFirst.length === 2);
    const stopping = one.stop();
    // The handlers finish after the abort, inside the grace period; run waits for them.
    setTimeout(release.open, 100);
    await stopping;
    assert.deepEqual([...ackedFirst].sort(), [...startedFirst].sort());

    const processedSecond = new Set<number>();
    const twice: number[] = [];
    const second: Handler = async (msg) => {
      const seq = msg.streamSequence ?? -1;
      if (ackedFirst.has(seq) || processedSecond.has(seq)) twice.push(seq);
      processedSecond.add(seq);
      return ack();
    };
    const two = runBroker(conn, (b) => b.register(route("drainer", second, ...options)));
    await two.broker.started();
    await until(() => ackedFirst.size + processedSecond.size === total);
    await until(async () => {
      const info = await consumerInfo(conn, stream, "drainer");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    await two.stop();
    assert.deepEqual(twice, []);
  });

  it("aborts a handler's signal with ErrShutdownTimeout when the grace period ends", async () => {
    const stream = unique("GRACE");
    const prefix = await makeStream(conn, stream);
    let reason: unknown;
    let running = false;
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "slow",
            async (_msg, ctx) => {
              running = true;
              await new Promise((resolve) =>
                ctx.signal.addEventListener("abort", resolve, { once: true }),
              );
              reason = ctx.signal.reason;
              return retry();
            },
            withStream(stream),
            withSubject(`${prefix}.>`),
          ),
        ),
      withShutdownTimeout("200ms"),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.x`, 1);
    await until(() => running);
    await run.stop();
    assert.ok(reason instanceof ErrShutdownTimeout);
  });

  it("redelivers a handler interrupted by shutdown at once to the next run, and reruns no acked message", async () => {
    const stream = unique("INTERRUPTED");
    const prefix = await makeStream(conn, stream);
    const runs: string[] = [];
    // Message 1 blocks until the shutdown interrupts it, on every run; 2-5 wait behind it.
    const handler: Handler = async (msg, ctx) => {
      const seq = msg.streamSequence ?? 0;
      runs.push(`${seq}#${msg.deliveryCount}`);
      if (seq === 1) {
        await new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }),
        );
      }
      return ack();
    };
    await publishMany(conn, `${prefix}.x`, 5);
    // Three service runs, each on its own connection, stopped while message 1 blocks. The
    // second releases message 1 with nothing else held: nats-server 2.9, with that run's dead
    // pull still registered, stepped its cursor back instead of taking the release, so message
    // 1 waited for ack wait (30 s) and the acked message 5 ran again.
    for (let cycle = 1; cycle <= 3; cycle++) {
      const own = await connect(withServers(server.url));
      const run = runBroker(
        own,
        (b) =>
          b.register(
            route(
              "interrupted",
              handler,
              withStream(stream),
              withSubject(`${prefix}.>`),
              withPrefetch(5),
            ),
          ),
        withShutdownTimeout("100ms"),
      );
      await until(() => runs.filter((r) => r.startsWith("1#")).length === cycle);
      await sleep(200);
      await run.stop();
      await own.close();
    }
    assert.deepEqual(
      runs.filter((r) => !r.startsWith("1#")),
      ["2#2", "3#2", "4#2", "5#2"],
      "each acked message ran once",
    );
  });
});
