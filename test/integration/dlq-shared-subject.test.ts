// A redrive re-runs the durable that gave up on the message, not every route consuming its
// subject (Jetroute-Redrive-Durable), unless allConsumers asks for every one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redriveDeadLetters } from "../../src/dlq/index.js";
import { replay } from "../../src/replay/index.js";
import {
  ack,
  reject,
  route,
  withDLQ,
  withMaxDeliver,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { jsStats, makeStream, runBroker, unique, until, useConnection } from "./engine-support.js";

checkLeaksAfterAll();

describe("redrive on a subject two routes consume", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  /** Billing rejects until fixed; shipping handles everything. Both consume `<prefix>.created`. */
  async function twoRoutes() {
    const stream = unique("SHARED");
    const dlqStream = unique("SHARED_DLQ");
    const prefix = await makeStream(conn, stream);
    const dlq = `${dlqStream.toLowerCase()}.dead`;
    await ensureStream(conn, dlqStream, withSubjects(dlq));
    const runs = { billing: [] as string[], shipping: [] as string[] };
    let billingFixed = false;
    const billing = route(
      "billing",
      async (msg) => {
        if (!billingFixed) return reject("billing is down");
        runs.billing.push(msg.string());
        return ack();
      },
      withStream(stream),
      withSubject(`${prefix}.created`),
      withDLQ(dlq),
      withMaxDeliver(1),
    );
    const shipping = route(
      "shipping",
      async (msg) => {
        runs.shipping.push(msg.string());
        return ack();
      },
      withStream(stream),
      withSubject(`${prefix}.created`),
    );
    const run = runBroker(conn, (b) => b.register(billing, shipping));
    await run.broker.started();
    await conn.jetstream.publish(`${prefix}.created`, "order-1");
    const jsm = await conn.jetstreamManager();
    await until(async () => (await jsm.streams.info(dlqStream)).state.messages === 1);
    await until(() => runs.shipping.length === 1);
    billingFixed = true;
    return { stream, dlqStream, run, runs, billing };
  }

  it("only the durable that dead-lettered the message runs it again", async () => {
    const s = await twoRoutes();
    const summary = await redriveDeadLetters(conn, s.dlqStream);
    assert.equal(summary.published, 1);
    await until(() => s.runs.billing.length === 1);
    await until(() => jsStats(s.run.broker, "shipping").redrivesSkipped === 1);
    await s.run.stop();
    assert.deepEqual(s.runs.billing, ["order-1"]);
    assert.deepEqual(s.runs.shipping, ["order-1"], "shipping did not run it a second time");
  });

  it("with allConsumers every route runs it again", async () => {
    const s = await twoRoutes();
    await redriveDeadLetters(conn, s.dlqStream, { allConsumers: true });
    await until(() => s.runs.billing.length === 1 && s.runs.shipping.length === 2);
    await s.run.stop();
    assert.equal(jsStats(s.run.broker, "shipping").redrivesSkipped, 0);
  });

  it("a replay of another route skips a redrive meant for billing", async () => {
    const s = await twoRoutes();
    await redriveDeadLetters(conn, s.dlqStream);
    await until(() => s.runs.billing.length === 1);
    await s.run.stop();
    const seen: string[] = [];
    const shippingReplay = route(
      "shipping",
      async (msg) => {
        seen.push(msg.string());
        return ack();
      },
      withStream(s.stream),
      withSubject(`${s.stream.toLowerCase()}.created`),
    );
    const summary = await replay(conn, shippingReplay, { from: "all" });
    assert.deepEqual(seen, ["order-1"], "the original runs, the redrive for billing does not");
    assert.equal(summary.skipped, 1);
  });
});
