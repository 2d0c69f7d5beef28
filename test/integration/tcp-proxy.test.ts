import assert from "node:assert/strict";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ErrInvalidOption } from "../../src/errors/index.js";
import { startTcpProxy, type TcpProxy } from "../../src/testing/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";

checkLeaksAfterAll();

/** A raw TCP client of the proxy that collects what it reads. */
async function dial(proxy: TcpProxy): Promise<{ socket: Socket; text(): string }> {
  const socket = createConnection(proxy.port, "127.0.0.1");
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    received += chunk;
  });
  await once(socket, "connect");
  return { socket, text: () => received };
}

/** Waits until `text()` contains `expected` (bounded by the test's timeout). */
async function untilReceived(client: { text(): string }, expected: string): Promise<void> {
  while (!client.text().includes(expected)) await sleep(10);
}

// nats-server greets every client with INFO and answers PING with PONG: a ready echo target.
describe("startTcpProxy", { timeout: 10_000 }, async () => {
  const server = await useServer();

  it("forwards both ways to the target", async () => {
    const proxy = await startTcpProxy(server.url);
    const client = await dial(proxy);
    try {
      await untilReceived(client, "INFO");
      client.socket.write("CONNECT {}\r\nPING\r\n");
      await untilReceived(client, "PONG");
      assert.equal(proxy.url, `nats://127.0.0.1:${proxy.port}`);
    } finally {
      client.socket.destroy();
      await proxy.close();
    }
  });

  it("keeps a blackholed flow open but silent, while a new flow works", async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: server.port });
    const old = await dial(proxy);
    try {
      await untilReceived(old, "INFO");
      old.socket.write("CONNECT {}\r\n");
      proxy.blackhole();
      old.socket.write("PING\r\n");

      const fresh = await dial(proxy);
      try {
        await untilReceived(fresh, "INFO");
        fresh.socket.write("CONNECT {}\r\nPING\r\n");
        await untilReceived(fresh, "PONG");
      } finally {
        fresh.socket.destroy();
      }
      // the old PING went out before the new flow's round trip; its PONG never came back
      await sleep(200);
      assert.equal(old.text().includes("PONG"), false);
      assert.equal(old.socket.destroyed, false);
      assert.equal(old.socket.readyState, "open");
    } finally {
      old.socket.destroy();
      await proxy.close();
    }
  });

  it("delivers what queued on a blackholed flow once resumed", async () => {
    const proxy = await startTcpProxy(server.url);
    const client = await dial(proxy);
    try {
      await untilReceived(client, "INFO");
      client.socket.write("CONNECT {}\r\n");
      proxy.blackhole();
      client.socket.write("PING\r\n");
      await sleep(200);
      assert.equal(client.text().includes("PONG"), false);
      proxy.resume();
      await untilReceived(client, "PONG");
    } finally {
      client.socket.destroy();
      await proxy.close();
    }
  });

  it("closes its listener and every socket, blackholed ones included", async () => {
    const proxy = await startTcpProxy(server.url);
    const client = await dial(proxy);
    await untilReceived(client, "INFO");
    proxy.blackhole();
    const closed = once(client.socket, "close");
    await proxy.close();
    await proxy.close();
    await closed;
    // the leak check after the file fails if any proxy socket or the listener outlived close()
    const refused = createConnection(proxy.port, "127.0.0.1");
    const [err] = (await once(refused, "error").catch((e: unknown) => [e])) as [unknown];
    refused.destroy();
    assert.equal((err as NodeJS.ErrnoException).code, "ECONNREFUSED");
  });

  for (const bad of ["", "nats://127.0.0.1", { host: "127.0.0.1", port: 0 }, { port: 4222 }]) {
    it(`rejects the target ${JSON.stringify(bad)} with ErrInvalidOption`, async () => {
      await assert.rejects(startTcpProxy(bad as string), ErrInvalidOption);
    });
  }
});
