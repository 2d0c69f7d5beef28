// Broker.started() when the broker stops first, and case-insensitive header lookup.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { Broker, withConnection } from "../../src/broker/index.js";
import { ErrBrokerStopped, ErrorCode } from "../../src/errors/index.js";
import { silentLogger, withLogger } from "../../src/logger/index.js";
import { route, withQueueGroup, withStream, withSubject } from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { makeStream, runBroker, unique, useConnection } from "./engine-support.js";
import { within } from "./runtime-support.js";

checkLeaksAfterAll();

describe("broker start and message headers", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("started() rejects with ErrBrokerStopped when the broker is stopped before it starts", async () => {
    const broker = new Broker(withConnection(conn), withLogger(silentLogger())).register(
      route("never-started", async () => {}, withSubject(unique("never")), withQueueGroup("q")),
    );
    const controller = new AbortController();
    controller.abort();
    await broker.run(controller.signal);
    await assert.rejects(broker.started(), (err: unknown) => {
      assert.ok(err instanceof ErrBrokerStopped);
      assert.equal(err.code, ErrorCode.BrokerStopped);
      return true;
    });
  });

  it("a core message's header is found whatever the case of its name", async () => {
    const subject = unique("hdr.core");
    const seen: (string | undefined)[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "hdr-core",
          async (msg) => {
            seen.push(msg.header("x-trace-id"), msg.header("X-TRACE-ID"));
          },
          withSubject(subject),
          withQueueGroup("q"),
        ),
      ),
    );
    await run.broker.started();
    const h = natsHeaders();
    h.set("X-Trace-Id", "abc");
    conn.nats.publish(subject, "{}", { headers: h });
    await within(5_000, () => seen.length === 2);
    await run.stop();
    assert.deepEqual(seen, ["abc", "abc"]);
  });

  it("a JetStream message's header is found whatever the case of its name", async () => {
    const stream = unique("HDR");
    const prefix = await makeStream(conn, stream);
    const seen: (string | undefined)[] = [];
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "hdr-js",
          async (msg) => {
            seen.push(msg.header("x-trace-id"), msg.header("missing"));
          },
          withStream(stream),
          withSubject(`${prefix}.>`),
        ),
      ),
    );
    await run.broker.started();
    const h = natsHeaders();
    h.set("X-Trace-Id", "abc");
    await conn.jetstream.publish(`${prefix}.job`, "{}", { headers: h });
    await within(5_000, () => seen.length === 2);
    await run.stop();
    assert.deepEqual(seen, ["abc", undefined]);
  });
});
