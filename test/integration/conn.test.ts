import assert from "node:assert/strict";
import { get } from "node:http";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ConnOption,
  connect,
  withAsyncTraces,
  withConnectTimeout,
  withCredsFile,
  withMaxPingsOut,
  withMaxReconnectAttempts,
  withName,
  withNkeySeed,
  withPingInterval,
  withReconnectWait,
  withServers,
  withTls,
  withToken,
  withUserPass,
} from "../../src/conn/index.js";
import {
  ErrConnectFailed,
  ErrInvalidDuration,
  ErrInvalidOption,
  ErrorCode,
} from "../../src/errors/index.js";
import type { Logger } from "../../src/logger/index.js";
import { withLogger } from "../../src/logger/index.js";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll, until, useServer } from "../helpers/index.js";
import { type LogLine, recordingLogger } from "../helpers/memory-logger.js";

checkLeaksAfterAll();

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const address = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  assert.ok(address && typeof address === "object");
  return address.port;
}

describe("connect", async () => {
  const server = await useServer();

  it("connects, reports health and closes", async () => {
    const conn = await connect(withServers(server.url), withName("conn-test"));
    const health = await conn.health();
    assert.equal(health.connected, true);
    assert.equal(health.server, `127.0.0.1:${server.port}`);
    assert.equal(typeof health.rttMs, "number");
    assert.equal(health.serverVersion, conn.nats.info?.version);
    const [major, minor] = conn.serverVersion();
    assert.ok(major >= 2 && minor >= 0);
    assert.equal(await conn.jetstreamManager(), await conn.jetstreamManager());
    await conn.close();
    assert.equal(conn.nats.isClosed(), true);
    assert.equal(await conn.closed(), undefined);
  });

  it("can be closed twice, and after the connection already closed", async () => {
    const conn = await connect(withServers(server.url));
    await conn.nats.close();
    await conn.close();
    await conn.close();
    assert.equal((await conn.health()).connected, false);
  });

  it("turns nats.js's async traces off unless asked", async () => {
    const traced = (c: { nats: unknown }) =>
      !(c.nats as { options: { noAsyncTraces?: boolean } }).options.noAsyncTraces;
    const plain = await connect(withServers(server.url));
    const withTraces = await connect(withServers(server.url), withAsyncTraces(true));
    try {
      assert.equal(traced(plain), false);
      assert.equal(traced(withTraces), true);
    } finally {
      await plain.close();
      await withTraces.close();
    }
  });

  it("pings every 10 s and gives up after 2 unanswered unless told otherwise", async () => {
    const pings = (c: { nats: unknown }) => {
      const { pingInterval, maxPingOut } = (
        c.nats as { options: { pingInterval?: number; maxPingOut?: number } }
      ).options;
      return { pingInterval, maxPingOut };
    };
    const plain = await connect(withServers(server.url));
    const tuned = await connect(
      withServers(server.url),
      withPingInterval("1.5s"),
      withMaxPingsOut(4),
    );
    try {
      assert.deepEqual(pings(plain), { pingInterval: 10_000, maxPingOut: 2 });
      assert.deepEqual(pings(tuned), { pingInterval: 1_500, maxPingOut: 4 });
    } finally {
      await plain.close();
      await tuned.close();
    }
  });

  it("logs through a conn component logger", async () => {
    const lines: LogLine[] = [];
    const conn = await connect(withServers(server.url), withLogger(recordingLogger(lines)));
    await conn.close();
    assert.ok(lines.length > 0);
    assert.ok(lines.every((l) => l.obj.component === "conn"));
  });

  const badOptions: [string, ConnOption, string][] = [
    ["no servers", withServers(), ErrorCode.InvalidOption],
    ["a server URL with spaces", withServers("nats://a b:4222"), ErrorCode.InvalidOption],
    ["an empty name", withName(""), ErrorCode.InvalidOption],
    ["an empty token", withToken(""), ErrorCode.InvalidOption],
    ["an empty user", withUserPass("", "pw"), ErrorCode.InvalidOption],
    ["a seed that is not an nkey", withNkeySeed("SUNOTASEED"), ErrorCode.InvalidOption],
    ["a creds file that does not exist", withCredsFile("/nope/x.creds"), ErrorCode.InvalidOption],
    ["a TLS cert without its key", withTls({ certFile: "/c.pem" }), ErrorCode.InvalidOption],
    ["reconnect attempts below -1", withMaxReconnectAttempts(-2), ErrorCode.InvalidOption],
    ["fractional reconnect attempts", withMaxReconnectAttempts(1.5), ErrorCode.InvalidOption],
    ["a negative reconnect wait", withReconnectWait(-1), ErrorCode.InvalidDuration],
    ["an unknown duration unit", withReconnectWait("5x" as "5s"), ErrorCode.InvalidDuration],
    ["a zero connect timeout", withConnectTimeout(0), ErrorCode.InvalidDuration],
    ["a zero ping interval", withPingInterval(0), ErrorCode.InvalidDuration],
    ["a negative ping interval", withPingInterval(-1), ErrorCode.InvalidDuration],
    ["a ping interval with no unit", withPingInterval("10" as "10s"), ErrorCode.InvalidDuration],
    ["zero pings out", withMaxPingsOut(0), ErrorCode.InvalidOption],
    ["fractional pings out", withMaxPingsOut(1.5), ErrorCode.InvalidOption],
    ["pings out given as a string", withMaxPingsOut("2" as never), ErrorCode.InvalidOption],
    ["a logger without methods", withLogger({} as Logger), ErrorCode.InvalidOption],
    ["async traces given as a string", withAsyncTraces("yes" as never), ErrorCode.InvalidOption],
  ];
  for (const [what, option, code] of badOptions) {
    it(`rejects ${what} before dialling`, async () => {
      // earlier tests' closed connections leave /connz a moment after close() resolves
      await until(async () => (await connectionCount(server.httpPort)) === 0);
      const before = 0;
      await assert.rejects(connect(withServers(server.url), option), (err: unknown) => {
        const cls = code === ErrorCode.InvalidDuration ? ErrInvalidDuration : ErrInvalidOption;
        assert.ok(err instanceof cls);
        assert.equal(err.code, code);
        return true;
      });
      assert.equal(await connectionCount(server.httpPort), before);
    });
  }

  it("rejects two kinds of credentials at once", async () => {
    await assert.rejects(
      connect(withServers(server.url), withToken("t"), withUserPass("u", "p")),
      ErrInvalidOption,
    );
  });

  it("fails with ErrConnectFailed naming the server when nothing listens", async () => {
    const url = `nats://127.0.0.1:${await deadPort()}`;
    await assert.rejects(
      connect(withServers(url), withMaxReconnectAttempts(0), withConnectTimeout("2s")),
      (err: unknown) => {
        assert.ok(err instanceof ErrConnectFailed);
        assert.equal(err.code, ErrorCode.ConnectFailed);
        assert.ok(err.message.includes(url));
        assert.ok(err.cause instanceof Error);
        return true;
      },
    );
  });
});

describe("reconnect", () => {
  it("reconnects after a server restart and publishes to JetStream again, logging both", async () => {
    const server = await startServer();
    const lines: LogLine[] = [];
    const conn = await connect(
      withServers(server.url),
      withReconnectWait(100),
      withLogger(recordingLogger(lines)),
    );
    try {
      const jsm = await conn.jetstreamManager();
      await jsm.streams.add({ name: "RESTART", subjects: ["restart.>"] });
      await conn.jetstream.publish("restart.before", "1");

      const reconnected = waitForLog(lines, "reconnected");
      await server.restart();
      await reconnected;

      const ack = await conn.jetstream.publish("restart.after", "2");
      assert.equal(ack.stream, "RESTART");
      assert.equal(ack.seq, 2);
      assert.ok(lines.some((l) => l.level === "warn" && l.msg === "disconnected"));
      assert.ok(lines.some((l) => l.level === "info" && l.msg === "reconnected"));
      assert.equal((await conn.health()).connected, true);
    } finally {
      await conn.close();
      await server.stop();
    }
  });
});

describe("close while the server is down", () => {
  it("closes instead of waiting for a server to drain to", async () => {
    const server = await startServer();
    const lines: LogLine[] = [];
    const conn = await connect(withServers(server.url), withLogger(recordingLogger(lines)));
    await server.stop();
    await waitForLog(lines, "disconnected");
    await conn.close();
    assert.equal(conn.nats.isClosed(), true);
    assert.equal((await conn.health()).connected, false);
  });
});

/** Resolves once a line with this message is logged (polling: the logger is ours). */
async function waitForLog(lines: LogLine[], msg: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (lines.some((l) => l.msg === msg)) return;
    await sleep(25);
  }
  assert.fail(`no "${msg}" log line within 10 s`);
}

/** Client connections the server currently has, from `/connz`. */
function connectionCount(httpPort: number): Promise<number> {
  // a one-off socket: fetch's keep-alive pool would outlive the file and count as a leak
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port: httpPort, path: "/connz", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve((JSON.parse(body) as { num_connections: number }).num_connections),
      );
    }).once("error", reject);
  });
}
