import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient } from "@nats-io/jetstream";
import { connect, withReconnectWait, withServers } from "../../src/conn/index.js";
import { ensureStream, withReplicas, withSubjects } from "../../src/stream/index.js";
import { startCluster } from "../../src/testing/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";

checkLeaksAfterAll();

/**
 * Publishes with a message id, retrying while the cluster elects a new stream leader; the id
 * makes a retry of a publish that was in fact stored count once.
 */
async function publishSurely(js: JetStreamClient, subject: string, id: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await js.publish(subject, id, { msgID: id, timeout: 2_000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

describe("a three-node cluster", async () => {
  const cluster = await startCluster({ size: 3 });
  after(() => cluster.stop());

  it("starts with three nodes agreeing on a meta leader", async () => {
    assert.equal(cluster.urls.length, 3);
    const leader = await cluster.leaderIndex();
    assert.ok(leader >= 0 && leader < 3);
  });

  it("keeps accepting publishes to an R3 stream after its leader node is killed", async () => {
    const conn = await connect(withServers(...cluster.urls), withReconnectWait(100));
    try {
      const created = await ensureStream(conn, "R3", withSubjects("r3.>"), withReplicas(3));
      assert.equal(created.config.num_replicas, 3);
      for (let i = 0; i < 10; i++) await publishSurely(conn.jetstream, "r3.before", `b${i}`);

      const jsm = await conn.jetstreamManager();
      const leaderName = (await jsm.streams.info("R3")).cluster?.leader;
      const victim = cluster.names.indexOf(leaderName ?? "");
      assert.ok(victim >= 0, `stream leader ${leaderName} is a cluster node`);
      await cluster.kill(victim);

      for (let i = 0; i < 10; i++) await publishSurely(conn.jetstream, "r3.after", `a${i}`);
      const info = await jsm.streams.info("R3");
      assert.equal(info.state.messages, 20);
      assert.notEqual(info.cluster?.leader, leaderName);
    } finally {
      await conn.close();
    }
  });
});
