// Hooks may be async: a rejection is caught and logged, never an unhandled rejection.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { withBrokerMiddleware } from "../../src/broker/index.js";
import { createProducer, withOnPublish, withProducerLogger } from "../../src/producer/index.js";
import {
  metrics,
  route,
  withOnError,
  withQueueGroup,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, type LogLine, recordingLogger, useServer } from "../helpers/index.js";
import { makeStream, runBroker, unique, useConnection } from "./engine-support.js";
import { within } from "./runtime-support.js";

checkLeaksAfterAll();

/** An async hook that rejects with `err`. */
function rejecting(err: Error): () => Promise<void> {
  return async () => {
    await sleep(1);
    throw err;
  };
}

/** True once a line logged `err` itself (the rejection, not a copy of its text). */
function logged(lines: readonly LogLine[], err: Error): boolean {
  return lines.some((l) => l.obj.err === err);
}

describe("async hooks that reject", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  before(() => process.on("unhandledRejection", onUnhandled));
  after(() => process.off("unhandledRejection", onUnhandled));

  /** Lets a rejection nobody handles reach the process's listeners. */
  const settle = () => sleep(50);

  it("an async onError hook that rejects is logged and the process lives on", async () => {
    const stream = unique("HOOK");
    const prefix = await makeStream(conn, stream);
    const boom = new Error("onError hook broke");
    let failures = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "hook-onerror",
          async () => {
            failures++;
            throw new Error("handler failed");
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
          withOnError(rejecting(boom)),
        ),
      ),
    );
    await run.broker.started();
    await conn.jetstream.publish(`${prefix}.job`, "{}");
    await within(5_000, () => logged(run.logger.lines, boom));
    await run.stop();
    await settle();
    assert.ok(failures >= 1);
    assert.deepEqual(unhandled, []);
  });

  it("an async metrics hook that rejects is logged and the process lives on", async () => {
    const subject = unique("hook.metrics");
    const boom = new Error("metrics hook broke");
    let handled = 0;
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "hook-metrics",
            async () => {
              handled++;
            },
            withSubject(subject),
            withQueueGroup("workers"),
          ),
        ),
      withBrokerMiddleware(metrics(rejecting(boom))),
    );
    await run.broker.started();
    conn.nats.publish(subject, "1");
    await within(5_000, () => logged(run.logger.lines, boom));
    await run.stop();
    await settle();
    assert.equal(handled, 1);
    assert.deepEqual(unhandled, []);
  });

  it("a metrics hook returning a thenable whose then() throws does not turn a success into a failure", async () => {
    const stream = unique("HOOK_THEN");
    const prefix = await makeStream(conn, stream);
    const boom = new Error("then() broke");
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: the point of the test is a broken thenable
      then: () => {
        throw boom;
      },
    };
    let handled = 0;
    const run = runBroker(
      conn,
      (b) =>
        b.register(
          route(
            "hook-thenable",
            async () => {
              handled++;
            },
            withStream(stream),
            withSubject(`${prefix}.>`),
          ),
        ),
      withBrokerMiddleware(metrics(() => thenable as unknown as Promise<void>)),
    );
    await run.broker.started();
    await conn.jetstream.publish(`${prefix}.job`, "{}");
    await within(5_000, () => logged(run.logger.lines, boom));
    await within(5_000, () => {
      const s = run.broker.stats()["hook-thenable"];
      return s !== undefined && "acked" in s && s.acked === 1;
    });
    await run.stop();
    assert.equal(handled, 1);
  });

  it("an async onPublish hook that rejects is logged and the publish still succeeds", async () => {
    const boom = new Error("onPublish hook broke");
    const logger = recordingLogger();
    const producer = createProducer(
      conn,
      withOnPublish(rejecting(boom)),
      withProducerLogger(logger),
    );
    await producer.publish(unique("hook.publish"), { ok: true });
    await within(5_000, () => logged(logger.lines, boom));
    await settle();
    assert.deepEqual(unhandled, []);
  });
});
