// A durable rewound under a running route on purpose (resetDurable from another process: the
// consumer reset API on 2.14+, or a re-creation it marks on 2.10+) runs its messages after the
// new ack floor again; an unmarked re-creation does not (engine-resilience.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { versionAtLeast } from "../../src/conn/index.js";
import { ConsumerMetadata } from "../../src/consumer/index.js";
import { ack, route, withStream, withSubject } from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  jsStats,
  makeStream,
  publishMany,
  runBroker,
  swapConsumer,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("a durable rewound under a running route", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const hasResetApi = versionAtLeast(conn.serverVersion(), [2, 14, 0]);
  const since210 = versionAtLeast(conn.serverVersion(), [2, 10, 0]);

  async function running() {
    const stream = unique("REWIND");
    const prefix = await makeStream(conn, stream);
    const handled: number[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "svc",
          async (msg) => {
            handled.push(msg.streamSequence ?? 0);
            return ack();
          },
          withStream(stream),
          withSubject(`${prefix}.a`),
        ),
      ),
    );
    await run.broker.started();
    await publishMany(conn, `${prefix}.a`, 5);
    await until(() => handled.length === 5);
    // Let the route learn the ack floor (read every 2 s while messages settle).
    await until(() => jsStats(run.broker, "svc").ackFloor === 5);
    return { stream, prefix, handled, run };
  }

  it("reset by the consumer reset API (2.14+) runs messages after the new floor again", {
    skip: !hasResetApi && "nats-server before 2.14 has no consumer reset API",
  }, async () => {
    const r = await running();
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.reset(r.stream, "svc", 3);
    await until(() => r.handled.length === 8);
    await r.run.stop();
    assert.deepEqual(r.handled, [1, 2, 3, 4, 5, 3, 4, 5]);
    assert.equal(jsStats(r.run.broker, "svc").replaysSkipped, 0);
  });

  it("re-created at an earlier start by resetDurable in another process (2.10+), it runs them again", {
    skip: !since210 && "the rewind mark is consumer metadata, which needs nats-server 2.10",
  }, async () => {
    const r = await running();
    // What resetDurable's re-creating path does, from a process that runs no route on it.
    await swapConsumer(conn, r.stream, {
      durable_name: "svc",
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${r.prefix}.a`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: 2,
      metadata: { [ConsumerMetadata.Reset]: new Date().toISOString() },
    });
    await until(() => r.handled.length === 9);
    await r.run.stop();
    assert.deepEqual(r.handled.slice(5), [2, 3, 4, 5]);
  });
});
