import { doublingDelay } from "../duration/index.js";
import {
  describeValue,
  ErrConnectionClosed,
  ErrInvalidOption,
  type JetrouteError,
} from "../errors/index.js";
import type { Producer } from "../producer/index.js";
import { BatchRunner } from "./batch.js";
import { tableMissing } from "./enqueue.js";
import type { OutboxMetrics } from "./metrics.js";
import type { OutboxSettings } from "./options.js";
import type { RelayOptions, SqlPool, SqlPoolClient } from "./types.js";
import { Waker } from "./wake.js";

/**
 * Runs a relay until `options.signal` aborts: `concurrency` workers, each looping over batches
 * (at once while batches come back full, else waiting for a NOTIFY or the poll interval), and
 * one LISTEN connection that wakes them. Database errors back off and retry; they never end
 * the relay. Resolves once every worker's batch in flight has committed or rolled back.
 */
export async function runRelay(
  pool: SqlPool,
  producer: Producer,
  s: OutboxSettings,
  metrics: OutboxMetrics,
  options: RelayOptions,
): Promise<void> {
  const signal = (options as RelayOptions | undefined)?.signal;
  if (!(signal instanceof AbortSignal)) {
    throw new ErrInvalidOption(invalidSignal(signal === undefined ? options : signal));
  }
  if (signal.aborted) return;
  await probeTable(pool, s);

  // The caller's signal, or the end of the producer's connection: a closed NATS connection
  // never comes back, so relaying on would only fail every row, forever.
  const stopping = new AbortController();
  const stop = stopping.signal;
  const onAbort = () => stopping.abort(signal.reason);
  // Aborted while the table was probed: the event has fired already.
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  let closed: JetrouteError | undefined;

  const waker = new Waker();
  const batches = new BatchRunner(pool, producer, s, metrics);
  const worker = async (n: number): Promise<void> => {
    let dbFailures = 0;
    while (!stop.aborted) {
      const seen = waker.generation;
      try {
        const { locked, connectionClosed } = await batches.run(stop);
        dbFailures = 0;
        if (connectionClosed) {
          closed ??= new ErrConnectionClosed(
            "outbox relay stopped: the producer's NATS connection is closed (rows it could not publish stay pending, with the error); relay on a connection that lives as long as the relay",
          );
          stopping.abort(closed);
          return;
        }
        if (locked === s.batchSize) continue;
      } catch (err) {
        dbFailures++;
        metrics.failed("database", 1);
        s.logger.error({ err, worker: n, failures: dbFailures }, "outbox relay batch failed");
        await waker.wait(waker.generation, backoff(s, dbFailures), stop);
        continue;
      }
      await waker.wait(seen, s.pollIntervalMs, stop);
    }
  };
  try {
    const listening = s.listen ? listen(pool, s, waker, stop) : Promise.resolve();
    await Promise.all([...Array.from({ length: s.concurrency }, (_, n) => worker(n)), listening]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  if (closed !== undefined) throw closed;
}

function invalidSignal(value: unknown): string {
  return `outbox.relay needs { signal: AbortSignal } to know when to stop (got ${describeValue(value)}); e.g. relay({ signal: controller.signal })`;
}

function backoff(s: OutboxSettings, failures: number): number {
  return doublingDelay(s.backoffInitialMs, s.backoffMaxMs, failures - 1);
}

/** Fails fast when the migration has not run, instead of logging the same error forever. */
async function probeTable(pool: SqlPool, s: OutboxSettings): Promise<void> {
  try {
    await pool.query(
      `SELECT position, id, subject, payload, headers, created_at, next_attempt_at, attempts, last_error, last_attempt_at, sent_at FROM ${s.table.sql} LIMIT 0`,
    );
  } catch (err) {
    const missing = tableMissing(err, s.table.name);
    if (missing !== undefined) throw missing;
    // Anything else (database down) is an outage the relay rides out like any other.
  }
}

/**
 * Holds one pooled connection LISTENing on the table's channel and wakes the workers on every
 * notification (sent at commit by the migration's trigger). A lost connection is replaced after
 * a backoff; the workers' poll covers the gap, and a wake after each (re)LISTEN catches rows
 * committed meanwhile.
 */
async function listen(
  pool: SqlPool,
  s: OutboxSettings,
  waker: Waker,
  signal: AbortSignal,
): Promise<void> {
  const pause = new Waker();
  let failures = 0;
  while (!signal.aborted) {
    let client: SqlPoolClient | undefined;
    let lost: Error | undefined;
    const onNotify = () => waker.wake();
    let onLost: (err: Error) => void = () => {};
    const dropped = new Promise<void>((resolve) => {
      onLost = (err) => {
        lost = err;
        resolve();
      };
    });
    try {
      client = await pool.connect();
      client.on("notification", onNotify);
      client.on("error", onLost);
      await client.query(`LISTEN ${s.table.channelSql}`);
      failures = 0;
      waker.wake();
      await Promise.race([dropped, pause.wait(pause.generation, 2 ** 31 - 1, signal)]);
      // Stopping: the connection is destroyed below rather than UNLISTENed, so a database that
      // stopped answering cannot hold the relay's stop.
      lost ??= new Error("outbox relay stopped listening");
    } catch (err) {
      lost = err instanceof Error ? err : new Error(String(err));
    } finally {
      if (client) {
        client.removeListener("notification", onNotify);
        client.removeListener("error", onLost);
        // A late "error" on the destroyed client must not crash the process.
        client.on("error", () => {});
        client.release(lost ?? true);
      }
    }
    if (lost !== undefined && !signal.aborted) {
      failures++;
      s.logger.warn({ err: lost, failures }, "outbox LISTEN connection lost; polling meanwhile");
      await pause.wait(pause.generation, backoff(s, failures), signal);
    }
  }
}
