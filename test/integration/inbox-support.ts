// Shared by the inbox tests (KV and PostgreSQL, integration and chaos): events published with a
// `Jetroute-Event-Id`, and the exactly-once run of two brokers on one durable.
import assert from "node:assert/strict";
import { headers } from "@nats-io/nats-core";
import type { Connection } from "../../src/conn/types.js";
import type { JetStreamRouteStats } from "../../src/consumer/index.js";
import type { InboxStats, InboxStore } from "../../src/inbox/index.js";
import { withInbox } from "../../src/inbox/index.js";
import {
  type Handler,
  linear,
  retry,
  route,
  withAckWait,
  withBackoff,
  withConcurrency,
  withDurable,
  withMaxDeliver,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import {
  consumerInfo,
  jsStats,
  makeStream,
  type Running,
  runBroker,
  unique,
  until,
} from "./engine-support.js";

/** Publishes events `id(0)..id(count-1)` to `subject`, `copies` stored messages each, in windows of 1000. */
export async function publishEvents(
  conn: Connection,
  subject: string,
  count: number,
  id: (i: number) => string,
  copies = 1,
): Promise<void> {
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < copies; c++) {
      const h = headers();
      h.set("Jetroute-Event-Id", id(i));
      window.push(conn.jetstream.publish(subject, JSON.stringify({ i }), { headers: h }));
    }
    if (window.length >= 1000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
}

/** What one exactly-once run saw. */
export interface ExactlyOnceResult {
  readonly events: number;
  readonly messages: number;
  readonly ms: number;
  /** Each broker's stats after the run. */
  readonly stats: readonly JetStreamRouteStats[];
  /** Summed inbox counters of both brokers. */
  readonly inbox: InboxStats;
}

/** How the handler of {@link exactlyOnce} records an event's effect. */
export type Effect = (eventId: string, ctx: Parameters<Handler>[1]) => Promise<void>;

/**
 * Two brokers (two connections) on one durable with an inbox, every event stored twice (a
 * producer retry without dedup: the two copies race on the two brokers), redeliveries forced
 * three ways: 1 event in 50 is slower than the ack wait on its first run (redelivered to the
 * other broker while it runs), 1 in 20 fails once with retry() (its claim is released and the
 * retry runs it), and the second copies. `effect` is called once per successful run; the caller
 * counts effects and checks each event has exactly one.
 */
export async function exactlyOnce(options: {
  readonly conns: readonly [Connection, Connection];
  readonly store: (conn: Connection) => InboxStore<unknown>;
  readonly events: number;
  readonly effect: Effect;
}): Promise<ExactlyOnceResult> {
  const { conns, events } = options;
  const stream = unique("INBOX");
  const prefix = await makeStream(conns[0], stream);
  const subject = `${prefix}.events`;
  const durable = "billing";
  const failedOnce = new Set<string>();
  const handler: Handler = async (msg, ctx) => {
    const id = msg.header("Jetroute-Event-Id") ?? "";
    const n = Number(id.slice(id.lastIndexOf("-") + 1));
    if (n % 20 === 7 && !failedOnce.has(id)) {
      failedOnce.add(id);
      return retry({ delay: 50 });
    }
    if (n % 50 === 3 && msg.deliveryCount === 1) {
      await new Promise((r) => setTimeout(r, 1_300)); // past the 1 s ack wait
    }
    await options.effect(id, ctx);
    return undefined;
  };
  const runs: Running[] = conns.map((conn) =>
    runBroker(conn, (b) =>
      b.register(
        route(
          "billing",
          handler,
          withStream(stream),
          withSubject(subject),
          withDurable(durable),
          withConcurrency(32),
          withAckWait("1s"),
          withMaxDeliver(-1),
          withBackoff(linear({ initial: "50ms", step: "50ms", max: "500ms" })),
          withInbox(options.store(conn)),
        ),
      ),
    ),
  );
  await Promise.all(runs.map((r) => r.broker.started()));
  const started = performance.now();
  const id = (i: number) => `${stream}-evt-${i}`;
  await publishEvents(conns[0], subject, events, id, 2);
  await until(async () => {
    const info = await consumerInfo(conns[0], stream, durable);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  });
  const ms = performance.now() - started;
  await Promise.all(runs.map((r) => r.stop()));
  const stats = runs.map((r) => jsStats(r.broker, "billing"));
  const inbox = sumInbox(stats.map((s) => s.inbox));
  return { events, messages: events * 2, ms, stats, inbox };
}

function sumInbox(all: readonly (InboxStats | undefined)[]): InboxStats {
  const sum = { duplicates: 0, busy: 0, takenOver: 0, leaseLost: 0, storeErrors: 0 };
  for (const s of all) {
    assert.ok(s !== undefined, "a route with an inbox has inbox stats");
    for (const k of Object.keys(sum) as (keyof InboxStats)[]) sum[k] += s[k];
  }
  return sum;
}

/** Asserts each of `events` ids has exactly one effect in `counts`. */
export function assertEachOnce(counts: ReadonlyMap<string, number>, events: number): void {
  const twice = [...counts].filter(([, n]) => n !== 1);
  assert.deepEqual(twice.slice(0, 10), [], "events whose effect did not happen exactly once");
  assert.equal(counts.size, events, "events with an effect");
}

export { until };
