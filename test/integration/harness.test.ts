import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";

checkLeaksAfterAll();

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("test server harness", () => {
  it("starts a JetStream server on a free loopback port and stops it", async () => {
    const server = await startServer();
    const nc = await connect({ servers: server.url });
    assert.equal(nc.info?.jetstream, true);
    await nc.close();
    const pid = server.pid;
    await server.stop();
    assert.equal(alive(pid), false);
    assert.equal(existsSync(server.storeDir), false);
  });

  it("restarts on the same port with the same store", async () => {
    const server = await startServer();
    const { port, storeDir } = server;
    const before = server.pid;
    await server.restart();
    assert.equal(server.port, port);
    assert.equal(server.storeDir, storeDir);
    assert.notEqual(server.pid, before);
    await server.stop();
  });
});
