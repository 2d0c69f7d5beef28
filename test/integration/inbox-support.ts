// Shared by the inbox tests (KV and PostgreSQL, integration and chaos): events published with a
// `Jetroute-Event-Id`, and the exactly-once run of two brokers on one durable.
import assert from "node:assert/strict";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { headers } from "@nats-io/nats-core";
import { connect, withServers } from "../../src/conn/index.js";
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
import { startTcpProxy } from "../../src/testing/index.js";
import {
  consumerInfo,
  jsStats,
  makeStream,
  type Running,
  runBroker,
  unique,
  until,
} from "./engine-support.js";

/** The 10k events (about 8 s here per store); JETROUTE_INBOX_EVENTS overrides (CI legs). */
export const EVENTS = Number(process.env.JETROUTE_INBOX_EVENTS ?? 10_000);

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
  /** Deliveries over both brokers (redeliveries included). */
  readonly deliveries: number;
  readonly ms: number;
  /** Each broker's stats after the run. */
  readonly stats: readonly JetStreamRouteStats[];
  /** Summed inbox counters of both brokers. */
  readonly inbox: InboxStats;
}

/** How the handler of {@link exactlyOnce} records an event's effect. */
export type Effect = (
  eventId: string,
  ctx: Parameters<Handler>[1],
  broker: number,
) => Promise<void>;

/**
 * Two brokers on one durable with an inbox, each on its own connection, broker 0's through a
 * TCP proxy. Every event is stored twice (a producer retry without dedup: the copies race on
 * the two brokers), and redeliveries are forced two ways: 1 event in 20 fails once with
 * retry() (its claim is released and the retry runs it), and broker 0's connection goes
 * silent twice for 1.5 s, longer than the 1 s ack wait (its handlers finish, but their acks
 * and in-progress acks wait in the proxy: the server redelivers those messages to broker 1,
 * which must find them done or claimed). `effect` is called once per successful run; the
 * caller counts effects and checks each event has exactly one. A KV inbox's lease must be
 * longer than the silences (else the claims of broker 0's running handlers expire).
 */
export async function exactlyOnce(options: {
  readonly url: string;
  /** The store of broker `i` (0 or 1), on its connection. */
  readonly store: (conn: Connection, i: number) => InboxStore<unknown>;
  readonly events: number;
  readonly effect: Effect;
}): Promise<ExactlyOnceResult> {
  const { events } = options;
  const proxy = await startTcpProxy(options.url);
  const conns = [
    await connect(withServers(proxy.url)),
    await connect(withServers(options.url)),
  ] as const;
  const direct = conns[1];
  try {
    const stream = unique("INBOX");
    const prefix = await makeStream(direct, stream);
    const subject = `${prefix}.events`;
    const durable = "billing";
    const failedOnce = new Set<string>();
    const handler =
      (broker: number): Handler =>
      async (msg, ctx) => {
        const id = msg.header("Jetroute-Event-Id") ?? "";
        const n = Number(id.slice(id.lastIndexOf("-") + 1));
        if (n % 20 === 7 && !failedOnce.has(id)) {
          failedOnce.add(id);
          return retry({ delay: 50 });
        }
        await options.effect(id, ctx, broker);
        return undefined;
      };
    const runs: Running[] = conns.map((conn, i) =>
      runBroker(conn, (b) =>
        b.register(
          route(
            "billing",
            handler(i),
            withStream(stream),
            withSubject(subject),
            withDurable(durable),
            withConcurrency(32),
            withAckWait("1s"),
            withMaxDeliver(-1),
            withBackoff(linear({ initial: "50ms", step: "50ms", max: "500ms" })),
            withInbox(options.store(conn, i)),
          ),
        ),
      ),
    );
    await Promise.all(runs.map((r) => r.broker.started()));
    const started = performance.now();
    const partitions = (async () => {
      for (const pause of [500, 1_500]) {
        await sleep(pause);
        proxy.blackhole();
        await sleep(1_500);
        proxy.resume();
      }
    })();
    const id = (i: number) => `${stream}-evt-${i}`;
    await publishEvents(direct, subject, events, id, 2);
    await partitions;
    await until(async () => {
      const info = await consumerInfo(direct, stream, durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    const ms = performance.now() - started;
    await Promise.all(runs.map((r) => r.stop()));
    const stats = runs.map((r) => jsStats(r.broker, "billing"));
    const inbox = sumInbox(stats.map((s) => s.inbox));
    const deliveries = stats.reduce((n, s) => n + s.received, 0);
    assert.ok(failedOnce.size >= Math.floor(events / 20), `${failedOnce.size} retried events`);
    // Beyond the copies and the retries, the silences made the server redeliver.
    assert.ok(deliveries > events * 2 + failedOnce.size, `${deliveries} deliveries`);
    return { events, messages: events * 2, deliveries, ms, stats, inbox };
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await proxy.close();
  }
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

/**
 * A TCP forwarder to `127.0.0.1:<target>` on a port of its own that `down()` closes (open
 * connections cut, new ones refused) and `up()` opens again on the same port: a database that
 * goes away and comes back at the same address.
 */
export async function portGate(target: number): Promise<{
  readonly port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = netConnect(target, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.once("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const shut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  await listen(0);
  const { port } = server.address() as { port: number };
  return { port, down: shut, up: () => listen(port), close: shut };
}
