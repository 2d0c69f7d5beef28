// Terminating a dead-lettered message, on whichever server the suite runs on. `+TERM <reason>`
// is understood from nats-server 2.10.4 (`supportsTermReason`); older servers ignore the whole
// term when a reason follows it, and redeliver after ack wait. Each test states the behaviour
// of the server it runs against; the gate check proves the gate itself against that server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AckPolicy } from "@nats-io/jetstream";
import type { Connection } from "../../src/conn/types.js";
import { supportsTermReason } from "../../src/consumer/index.js";
import {
  fixed,
  reject,
  route,
  withAckWait,
  withBackoff,
  withDLQ,
  withDurable,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  consumerInfo,
  jsStats,
  makeStream,
  publishMany,
  runBroker,
  storedMessages,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

const REASON = "card declined";
const ACK_WAIT_MS = 1000;
const COUNT = 5;

/** What the server saw of a route's terminations: ack bodies on the wire and advisories. */
interface Observed {
  /** Every body sent to the stream's ack subjects (`$JS.ACK.<stream>.…`), in order. */
  readonly acks: string[];
  /** The stream sequences those bodies settled. */
  readonly ackedSeqs: number[];
  /** `MSG_TERMINATED` advisories for the stream's durable. */
  readonly advisories: { stream_seq: number; reason?: string }[];
}

/** Watches the wire with core subscriptions on the ack subjects and the termination advisory. */
async function observe(conn: Connection, stream: string, durable: string): Promise<Observed> {
  const seen: Observed = { acks: [], ackedSeqs: [], advisories: [] };
  // Both subscriptions end with the connection, after the file: late messages still count.
  conn.nats.subscribe(`$JS.ACK.${stream}.${durable}.>`, {
    callback: (_err, msg) => {
      seen.acks.push(msg.string());
      // $JS.ACK.<stream>.<durable>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
      seen.ackedSeqs.push(Number(msg.subject.split(".")[5]));
    },
  });
  conn.nats.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${stream}.${durable}`, {
    callback: (_err, msg) => {
      seen.advisories.push(msg.json());
    },
  });
  await conn.nats.flush();
  return seen;
}

/** Runs a route that rejects every message with REASON into a DLQ, for COUNT messages. */
async function deadLetterAll(conn: Connection) {
  const stream = unique("TERM");
  const subject = `${await makeStream(conn, stream)}.created`;
  const dlqStream = unique("TERMDLQ");
  const dlq = `${await makeStream(conn, dlqStream)}.dead`;
  const durable = "billing";
  const seen = await observe(conn, stream, durable);
  const calls: number[] = [];
  const run = runBroker(conn, (b) =>
    b.register(
      route(
        "billing",
        async () => {
          calls.push(1);
          return reject(REASON);
        },
        withStream(stream),
        withSubject(subject),
        withDurable(durable),
        withDLQ(dlq),
        withAckWait(ACK_WAIT_MS),
        withBackoff(fixed("100ms")),
      ),
    ),
  );
  await run.broker.started();
  await publishMany(conn, subject, COUNT);
  await until(() => jsStats(run.broker, "billing").deadLettered === COUNT);
  // Well past the ack wait: a term the server ignored would have come back by now.
  await sleep(ACK_WAIT_MS * 2.5);
  await conn.nats.flush();
  const info = await consumerInfo(conn, stream, durable);
  const stats = jsStats(run.broker, "billing");
  await run.stop();
  return { stream, dlqStream, seen, calls, info, stats };
}

describe("Dead letters: terminating the original", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const version = conn.serverVersion().join(".");
  const withReason = supportsTermReason(conn.serverVersion());

  it(`a dead-lettered message is terminated once and never redelivered (server ${version})`, async () => {
    const { dlqStream, seen, calls, info, stats } = await deadLetterAll(conn);
    assert.equal(calls.length, COUNT, "each message was handled once");
    assert.equal(stats.deadLettered, COUNT);
    assert.equal((await storedMessages(conn, dlqStream)).length, COUNT);
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_redelivered, 0);
    assert.equal(info.ack_floor.stream_seq, COUNT);
    // One settlement per message, and it is a term.
    assert.equal(seen.acks.length, COUNT);
    assert.ok(seen.acks.every((body) => body.startsWith("+TERM")));
    assert.deepEqual([...new Set(seen.ackedSeqs)].sort(), [1, 2, 3, 4, 5]);
    // The server counted each as terminated, once.
    assert.deepEqual(seen.advisories.map((a) => a.stream_seq).sort(), [1, 2, 3, 4, 5]);
  });

  if (withReason) {
    it(`the termination advisory carries the handler's reason (server ${version})`, async () => {
      const { seen } = await deadLetterAll(conn);
      assert.deepEqual(seen.acks, Array(COUNT).fill(`+TERM ${REASON}`));
      assert.equal(seen.advisories.length, COUNT);
      for (const advisory of seen.advisories) assert.equal(advisory.reason, REASON);
    });
  } else {
    it(`no reason is sent to a server that would ignore the term (server ${version})`, async () => {
      const { seen } = await deadLetterAll(conn);
      assert.deepEqual(seen.acks, Array(COUNT).fill("+TERM"));
      assert.equal(seen.advisories.length, COUNT);
      for (const advisory of seen.advisories) assert.equal(advisory.reason, undefined);
    });
  }
});

describe("The term-reason gate against the server itself", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  const version = conn.serverVersion().join(".");
  const withReason = supportsTermReason(conn.serverVersion());

  /** Sends `+TERM <reason>` for one message with raw nats.js; returns whether it came back. */
  async function termWithReasonComesBack(): Promise<{ back: boolean; reasons: unknown[] }> {
    const stream = unique("GATE");
    const subject = `${await makeStream(conn, stream)}.x`;
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add(stream, {
      durable_name: "raw",
      ack_policy: AckPolicy.Explicit,
      ack_wait: ACK_WAIT_MS * 1_000_000,
    });
    const seen = await observe(conn, stream, "raw");
    await conn.jetstream.publish(subject, "one");
    const consumer = await conn.jetstream.consumers.get(stream, "raw");
    const first = await consumer.next({ expires: 2000 });
    assert.ok(first !== null);
    first.term(REASON);
    await sleep(ACK_WAIT_MS * 2.5);
    const again = await consumer.next({ expires: 1000 });
    again?.ack();
    await conn.nats.flush();
    return { back: again !== null, reasons: seen.advisories.map((a) => a.reason) };
  }

  if (withReason) {
    it(`the server honours a term with a reason and announces the reason, as the gate says (server ${version})`, async () => {
      const { back, reasons } = await termWithReasonComesBack();
      assert.equal(back, false, "terminated with a reason, yet redelivered");
      assert.deepEqual(reasons, [REASON]);
    });
  } else {
    it(`the server ignores a term with a reason and redelivers, as the gate says (server ${version})`, async () => {
      const { back, reasons } = await termWithReasonComesBack();
      assert.equal(back, true, "the server honoured a term with a reason: raise the gate");
      assert.deepEqual(reasons, []);
    });
  }
});
