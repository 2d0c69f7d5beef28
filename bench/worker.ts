// A service process for the multi-process measures (scale-out, rss-backlog): one Broker with one
// JetStream route, configured by environment. Protocol on stdio, one JSON object per line:
// it prints {"ready":true} once connected and idle (RSS baseline taken), starts the route on a
// "go" line on stdin, and on a "stop" line (or stdin closing) drains the broker and prints
// {"handled", "baselineRss", "peakRss", "quarterPeaks"} before exiting. With EXPECT (the messages it
// will handle), quarterPeaks holds the peak RSS of each quarter of the drain.
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Broker,
  connect,
  route,
  withConcurrency,
  withConnection,
  withDurable,
  withServers,
  withShutdownTimeout,
  withStream,
  withSubject,
} from "../src/index.js";
import { forceGc } from "./support.js";

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`worker: ${name} is required`);
  return v;
};
const workMs = Number(process.env.WORK_MS ?? 0);
const expect = Number(process.env.EXPECT ?? 0);

const conn = await connect(withServers(env("NATS_URL")));
let handled = 0;
const broker = new Broker(withConnection(conn), withShutdownTimeout("10s")).register(
  route(
    env("DURABLE"),
    async () => {
      if (workMs > 0) await sleep(workMs);
      handled++;
    },
    withStream(env("STREAM")),
    withSubject(env("SUBJECT")),
    withDurable(env("DURABLE")),
    withConcurrency(Number(process.env.CONCURRENCY ?? 16)),
  ),
);

forceGc();
const baselineRss = process.memoryUsage.rss();
let peakRss = baselineRss;
const quarterPeaks: number[] = expect > 0 ? [0, 0, 0, 0] : [];
const sample = (): void => {
  const rss = process.memoryUsage.rss();
  peakRss = Math.max(peakRss, rss);
  if (expect > 0) {
    const q = Math.min(3, Math.floor((handled * 4) / expect));
    quarterPeaks[q] = Math.max(quarterPeaks[q] ?? 0, rss);
  }
};
const sampler = setInterval(sample, 20);
const stop = new AbortController();
let running: Promise<void> | undefined;

const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of lines) {
  if (line === "go" && running === undefined) running = broker.run(stop.signal);
  if (line === "stop") break;
}
stop.abort();
await running;
clearInterval(sampler);
sample();
await conn.close();
process.stdout.write(`${JSON.stringify({ handled, baselineRss, peakRss, quarterPeaks })}\n`);
lines.close();
