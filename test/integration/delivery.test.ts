import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import type { Delivery } from "../../src/consumer/delivery.js";
import { parseAckSubject } from "../../src/consumer/delivery.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";

checkLeaksAfterAll();

/** nats.js keeps the timestamp as a (lossy) number; ours is the subject's exact digits. */
function asNatsJs(d: Delivery | undefined) {
  return d === undefined ? undefined : { ...d, timestampNanos: Number(d.timestampNanos) };
}

describe("parseAckSubject on messages from a real server", async () => {
  const server = await useServer();
  const nc = await natsConnect({ servers: server.url });
  after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "DELIVERY", subjects: ["delivery.>"] });
  await jsm.consumers.add("DELIVERY", { durable_name: "d", ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  for (let i = 0; i < 3; i++) await js.publish("delivery.x", `m${i}`);

  it("agrees with nats.js's delivery info, first delivery and redelivery", async () => {
    const consumer = await js.consumers.get("DELIVERY", "d");
    const first = await consumer.fetch({ max_messages: 3, expires: 2_000 });
    const seen: Array<[number, number]> = [];
    for await (const m of first) {
      assert.deepEqual(asNatsJs(parseAckSubject((m as unknown as { reply: string }).reply)), {
        stream: m.info.stream,
        seq: m.info.streamSequence,
        deliveryCount: m.info.deliveryCount,
        timestampNanos: m.info.timestampNanos,
      });
      seen.push([m.seq, m.info.deliveryCount]);
      m.nak();
    }
    assert.deepEqual(seen, [
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    const again = await consumer.fetch({ max_messages: 3, expires: 2_000 });
    for await (const m of again) {
      assert.deepEqual(asNatsJs(parseAckSubject((m as unknown as { reply: string }).reply)), {
        stream: "DELIVERY",
        seq: m.info.streamSequence,
        deliveryCount: 2,
        timestampNanos: m.info.timestampNanos,
      });
      m.ack();
    }
  });
});
