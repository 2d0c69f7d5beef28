import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  connect,
  withMaxPingsOut,
  withPingInterval,
  withReconnectWait,
  withServers,
} from "../../src/conn/index.js";
import { ErrConnectionClosed, ErrorCode } from "../../src/errors/index.js";
import { withLogger } from "../../src/logger/index.js";
import { startServer, startTcpProxy } from "../../src/testing/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { type LogLine, recordingLogger } from "../helpers/memory-logger.js";

checkLeaksAfterAll();

/** Resolves once a line with this message is logged (the test's timeout bounds the wait). */
async function logged(lines: LogLine[], msg: string): Promise<void> {
  while (!lines.some((l) => l.msg === msg)) await sleep(10);
}

describe("a connection whose TCP flow dies silently", async () => {
  const server = await useServer();

  it("answers health() within 2 s, as not connected", { timeout: 10_000 }, async () => {
    const proxy = await startTcpProxy(server.url);
    const conn = await connect(withServers(proxy.url));
    try {
      assert.equal((await conn.health()).connected, true);
      proxy.blackhole();
      const started = performance.now();
      const health = await conn.health();
      assert.ok(performance.now() - started < 2_000, "health() took 2 s or more");
      assert.equal(health.connected, false);
      assert.equal(health.rttMs, undefined);
    } finally {
      await conn.nats.close();
      await conn.close();
      await proxy.close();
    }
  });

  it("closes within 5 s instead of draining into the dead flow", { timeout: 10_000 }, async () => {
    const proxy = await startTcpProxy(server.url);
    const conn = await connect(withServers(proxy.url));
    try {
      proxy.blackhole();
      const started = performance.now();
      await conn.close();
      assert.ok(performance.now() - started < 5_000, "close() took 5 s or more");
      assert.equal(conn.nats.isClosed(), true);
    } finally {
      await conn.nats.close();
      await proxy.close();
    }
  });

  it("notices the dead flow from unanswered PINGs, reconnects and serves requests again", {
    timeout: 15_000,
  }, async () => {
    const responder = await connect(withServers(server.url));
    responder.nats.subscribe("liveness.echo", {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
    await responder.nats.flush();
    const proxy = await startTcpProxy(server.url);
    const lines: LogLine[] = [];
    const conn = await connect(
      withServers(proxy.url),
      withPingInterval("1s"),
      withMaxPingsOut(2),
      withReconnectWait(100),
      withLogger(recordingLogger(lines)),
    );
    try {
      const clientId = conn.nats.info?.client_id;
      await conn.nats.request("liveness.echo", "before", { timeout: 1_000 });
      proxy.blackhole();
      // 1 s x (2 + 1) to notice, then a dial through the proxy on a new flow, which works
      await logged(lines, "reconnected");
      const reply = await conn.nats.request("liveness.echo", "after", { timeout: 2_000 });
      assert.equal(reply.string(), "after");
      assert.notEqual(conn.nats.info?.client_id, clientId);
      assert.ok(lines.some((l) => l.level === "warn" && l.obj.event === "staleConnection"));
      assert.equal((await conn.health()).connected, true);
    } finally {
      await conn.close();
      await responder.close();
      await proxy.close();
    }
  });
});

describe("Connection.reconnect()", { timeout: 30_000 }, async () => {
  const server = await useServer();

  it("drops a healthy connection, dials again and works after, logging both", async () => {
    const lines: LogLine[] = [];
    const conn = await connect(
      withServers(server.url),
      withReconnectWait(100),
      withLogger(recordingLogger(lines)),
    );
    try {
      const clientId = conn.nats.info?.client_id;
      const sub = conn.nats.subscribe("reconnect.echo", {
        callback: (_err, msg) => {
          msg.respond(msg.data);
        },
      });
      await conn.reconnect();
      await logged(lines, "reconnected");
      assert.ok(lines.some((l) => l.level === "warn" && l.msg === "forcing a reconnect"));
      assert.notEqual(conn.nats.info?.client_id, clientId);
      // the subscription made before the reconnect was restored on the new socket
      const reply = await conn.nats.request("reconnect.echo", "hi", { timeout: 2_000 });
      assert.equal(reply.string(), "hi");
      assert.equal((await conn.health()).connected, true);
      sub.unsubscribe();
    } finally {
      await conn.close();
    }
  });

  it("does nothing while the connection is already reconnecting", async () => {
    const down = await startServer();
    const lines: LogLine[] = [];
    const conn = await connect(
      withServers(down.url),
      withReconnectWait(100),
      withLogger(recordingLogger(lines)),
    );
    try {
      await down.stop({ keepStore: true });
      await logged(lines, "disconnected");
      await conn.reconnect();
      assert.equal(
        lines.some((l) => l.msg === "forcing a reconnect"),
        false,
      );
      assert.equal(conn.nats.isClosed(), false);
    } finally {
      await conn.close();
      await down.stop();
    }
  });

  it("rejects with ErrConnectionClosed once the connection is closed", async () => {
    const conn = await connect(withServers(server.url));
    await conn.close();
    await assert.rejects(conn.reconnect(), (err: unknown) => {
      assert.ok(err instanceof ErrConnectionClosed);
      assert.equal(err.code, ErrorCode.ConnectionClosed);
      return true;
    });
  });
});
