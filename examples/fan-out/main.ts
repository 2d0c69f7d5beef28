// Core NATS fan-out and queue groups under the same Broker API. Two "instances" of a service
// (two brokers on one connection, as two processes would be) each run:
// - a fan-out route on `prices.changed`: every instance gets every event (cache invalidation);
// - a queue route on `emails.send` in group "mailers": each email goes to one instance only.
// Core NATS keeps nothing: a message published while no one listens is gone, so the publisher
// waits for both brokers to be started.
//
//   npm run example fan-out
import { pathToFileURL } from "node:url";
import {
  Broker,
  type Connection,
  connect,
  createLogger,
  createProducer,
  type Logger,
  route,
  withConcurrency,
  withConnection,
  withFanOut,
  withLogger,
  withName,
  withQueueGroup,
  withServers,
  withSubject,
} from "../../src/index.js";
import { natsForExample, shutdownSignal } from "../shared/nats.js";

/** Per instance: how many events and emails it handled. */
export interface FanOutSummary {
  readonly events: number;
  readonly emails: number;
  readonly perInstance: ReadonlyArray<{ readonly events: number; readonly emails: number }>;
}

/** Options of {@link main}. */
export interface FanOutOptions {
  /** NATS server to use. @default `NATS_URL`, else an embedded nats-server */
  readonly url?: string;
  readonly logger?: Logger;
}

const EVENTS = 5;
const EMAILS = 20;

/**
 * Runs two instances, publishes {@link EVENTS} price events and {@link EMAILS} emails, waits
 * until they are handled (or `signal` aborts), drains and returns the counts.
 * @example const summary = await main(shutdownSignal());
 */
export async function main(
  signal: AbortSignal,
  options: FanOutOptions = {},
): Promise<FanOutSummary> {
  const log = options.logger ?? createLogger({ base: { service: "fan-out" } });
  const nats = options.url === undefined ? await natsForExample() : undefined;
  const url = options.url ?? nats?.url ?? "";
  const conn = await connect(withServers(url), withName("fan-out"), withLogger(log));
  try {
    return await run(conn, log, signal);
  } finally {
    await conn.close();
    await nats?.stop();
  }
}

async function run(conn: Connection, log: Logger, signal: AbortSignal): Promise<FanOutSummary> {
  const counts = [
    { events: 0, emails: 0 },
    { events: 0, emails: 0 },
  ];
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const check = () => {
    const events = counts.every((c) => c.events === EVENTS);
    const emails = total(counts, "emails") === EMAILS;
    if (events && emails) allDone();
  };

  const stop = new AbortController();
  const onCaller = () => stop.abort(signal.reason);
  if (signal.aborted) onCaller();
  else signal.addEventListener("abort", onCaller, { once: true });
  const brokers = counts.map((count, i) => {
    const instance = log.child({ instance: i + 1 });
    return new Broker(withConnection(conn), withLogger(instance)).register(
      route(
        "invalidate-cache",
        async (msg) => {
          count.events++;
          instance.info({ sku: msg.json<{ sku: string }>().sku }, "price event received");
          check();
        },
        withSubject("prices.changed"),
        withFanOut(),
      ),
      route(
        "send-email",
        async () => {
          count.emails++;
          check();
        },
        withSubject("emails.send"),
        withQueueGroup("mailers"),
        withConcurrency(4),
      ),
    );
  });
  const running = brokers.map((b) => b.run(stop.signal));
  try {
    await Promise.all(brokers.map((b) => b.started()));
    const producer = createProducer(conn);
    for (let i = 0; i < EVENTS; i++) producer.publish("prices.changed", { sku: `sku-${i}` });
    for (let i = 0; i < EMAILS; i++)
      producer.publish("emails.send", { to: `user${i}@example.com` });
    const aborted = new Promise<void>((resolve) => {
      stop.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([done, aborted]);
    stop.abort(new Error("all messages handled"));
    await Promise.all(running);
    const summary: FanOutSummary = {
      events: total(counts, "events"),
      emails: total(counts, "emails"),
      perInstance: counts,
    };
    for (const [i, c] of counts.entries()) {
      console.log(
        `instance ${i + 1}: ${c.events} price events (fan-out), ${c.emails} emails (queue)`,
      );
    }
    return summary;
  } finally {
    signal.removeEventListener("abort", onCaller);
    stop.abort(new Error("fan-out example ended"));
    await Promise.allSettled(running);
  }
}

function total(
  counts: ReadonlyArray<{ events: number; emails: number }>,
  key: "events" | "emails",
): number {
  return counts.reduce((sum, c) => sum + c[key], 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(shutdownSignal());
}
