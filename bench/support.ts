// Helpers shared by the measures: prefilling streams with the raw client, checking that a
// durable really acked everything, percentiles and a forced GC for memory figures.
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connect as natsConnect } from "@nats-io/transport-node";
import type { BenchContext } from "./types.js";

/**
 * The raw client the way its docs suggest: up to `window` publishes awaiting their ack.
 * Used by the publish measure's raw side and to prefill streams.
 */
export async function rawWindowed(
  js: JetStreamClient,
  subject: string,
  payload: Uint8Array,
  n: number,
  window = 1000,
  /** Publishes with msgID `<msgIdPrefix>-<i>` when given. */
  msgIdPrefix?: string,
): Promise<void> {
  let inFlight = 0;
  let failed: unknown;
  let wake: (() => void) | undefined;
  const done = () => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const wait = async (max: number) => {
    while (inFlight > max) await new Promise<void>((r) => (wake = r));
  };
  for (let i = 0; i < n; i++) {
    if (inFlight >= window) await wait(window - 1);
    inFlight++;
    const published =
      msgIdPrefix === undefined
        ? js.publish(subject, payload)
        : js.publish(subject, payload, { msgID: `${msgIdPrefix}-${i}` });
    published.then(done, (err: unknown) => {
      failed ??= err;
      done();
    });
  }
  await wait(0);
  if (failed) throw failed;
}

/** A file-store stream holding `n` messages of `size` bytes on `subject`; replaced if it exists. */
export async function prefilledStream(
  ctx: BenchContext,
  name: string,
  subject: string,
  n: number,
  size = 128,
): Promise<void> {
  const jsm = await ctx.conn.jetstreamManager();
  await jsm.streams.delete(name).catch(() => false);
  await jsm.streams.add({ name, subjects: [subject], storage: "file" });
  const started = performance.now();
  await rawWindowed(ctx.raw.js, subject, new Uint8Array(size).fill(120), n);
  ctx.log(
    `  prefilled ${name} with ${n} messages in ${Math.round(performance.now() - started)} ms`,
  );
}

/** Deletes a stream, ignoring "not found". */
export async function dropStream(ctx: BenchContext, name: string): Promise<void> {
  const jsm = await ctx.conn.jetstreamManager();
  await jsm.streams.delete(name).catch(() => false);
}

/**
 * Lets the acks of the last handled message leave: a macrotask turn (so settle microtasks ran
 * and wrote the ack), then a flush (the server has read everything written before its PONG).
 */
export async function acksSent(nc: NatsConnection): Promise<void> {
  await nextTurn();
  await nc.flush();
}

/**
 * Throws unless `durable` has acked every one of the stream's `n` messages: nothing pending,
 * nothing awaiting an ack, ack floor at the last sequence. Then deletes the durable.
 */
export async function verifyAllAcked(
  ctx: BenchContext,
  stream: string,
  durable: string,
  n: number,
): Promise<void> {
  const jsm = await ctx.conn.jetstreamManager();
  // Acks are fire-and-forget; the server may take a moment to process the last ones.
  for (let i = 0; ; i++) {
    const info = await jsm.consumers.info(stream, durable);
    const ok =
      info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq >= n;
    if (ok) break;
    if (i >= 50) {
      throw new Error(
        `${durable}: pending ${info.num_pending}, ack pending ${info.num_ack_pending}, ack floor ${info.ack_floor.stream_seq} of ${n}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await jsm.consumers.delete(stream, durable);
}

/** A second raw connection (a requester, a publisher) with the same options as the others. */
export function rawConnection(ctx: BenchContext): Promise<NatsConnection> {
  return natsConnect({ servers: ctx.url });
}

/** The `q`-quantile (0..1) of `values` (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

let gcFn: (() => void) | undefined;

/** Runs a full GC (enabling `--expose-gc` at runtime), so RSS baselines are not inflated by garbage. */
export function forceGc(): void {
  if (gcFn === undefined) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

/** A promise with its resolve, for "the handler saw the last message". */
export function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** What a bench/worker.ts process reports when it stops. */
export interface WorkerReport {
  readonly handled: number;
  readonly baselineRss: number;
  readonly peakRss: number;
  /**
   * Peak RSS (bytes) in each quarter of the drain, by messages handled out of `EXPECT`; empty
   * when the worker was not told `EXPECT`. Flat means the last quarter is no higher than the first.
   */
  readonly quarterPeaks: readonly number[];
}

/** A running bench/worker.ts process, ready (connected, idle) once `spawnWorker` resolves. */
export interface Worker {
  go(): void;
  stop(): Promise<WorkerReport>;
}

/** Starts bench/worker.ts with `env` and waits until it says it is ready. */
export async function spawnWorker(env: Record<string, string>): Promise<Worker> {
  const { spawn } = await import("node:child_process");
  const { createInterface } = await import("node:readline");
  const { fileURLToPath } = await import("node:url");
  const script = fileURLToPath(new URL("./worker.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const messages: unknown[] = [];
  let waiter: (() => void) | undefined;
  lines.on("line", (line) => {
    messages.push(JSON.parse(line));
    waiter?.();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  const nextMessage = async (): Promise<unknown> => {
    while (messages.length === 0) {
      const code = await Promise.race([
        new Promise<"line">((r) => (waiter = () => r("line"))),
        exited.then((c) => c),
      ]);
      if (code !== "line" && messages.length === 0) throw new Error(`worker exited (${code})`);
    }
    return messages.shift();
  };
  await nextMessage();
  return {
    go: () => child.stdin.write("go\n"),
    stop: async () => {
      child.stdin.end("stop\n");
      const report = (await nextMessage()) as WorkerReport;
      await exited;
      return report;
    },
  };
}

/** Resolves once `durable` has no message pending or awaiting an ack, `n` acked in all. */
export async function untilConsumed(
  ctx: BenchContext,
  stream: string,
  durable: string,
  n: number,
  pollMs = 20,
): Promise<void> {
  const jsm = await ctx.conn.jetstreamManager();
  for (;;) {
    const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
    if (
      info &&
      info.num_pending === 0 &&
      info.num_ack_pending === 0 &&
      info.ack_floor.stream_seq >= n
    ) {
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * A file-store stream just for one round (`BENCH_<PREFIX>_<TAG>` on `bench.<prefix>.<tag>`),
 * deleted afterwards, outside the timed part.
 */
export async function withFreshStream<T>(
  ctx: BenchContext,
  prefix: string,
  tag: string,
  body: (subject: string) => Promise<T>,
): Promise<T> {
  const jsm = await ctx.conn.jetstreamManager();
  const name = `BENCH_${prefix}_${tag}`.toUpperCase();
  const subject = `bench.${prefix}.${tag}`;
  await jsm.streams.add({ name, subjects: [subject], storage: "file" });
  try {
    return await body(subject);
  } finally {
    await jsm.streams.delete(name);
  }
}
