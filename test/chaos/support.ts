// Shared machinery of the chaos suite: the service child process (fixtures/service.ts), reading
// what it processed, summarizing lost/duplicated ids, and the results table printed after a file.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Connection } from "../../src/conn/types.js";
import type { Producer, WindowItem } from "../../src/producer/index.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/service.ts", import.meta.url));

/** What the service fixture is told to run (passed as JSON in CHAOS_CONFIG). */
export interface ServiceConfig {
  readonly servers: readonly string[];
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  /** File the service appends one {@link ProcessedRecord} line to per handled message. */
  readonly out: string;
  readonly concurrency: number;
  readonly prefetch?: number;
  readonly ackWaitMs: number;
  /** How long a healthy message's handler sleeps (an I/O-bound handler). */
  readonly handlerDelayMs: number;
  readonly shutdownTimeoutMs: number;
  readonly dlq?: string;
  readonly maxDeliver?: number;
  readonly backoffMs?: number;
  /** RSS sampling period. @default 100 */
  readonly rssSampleMs?: number;
}

/** One handled message, as the service records it. */
export interface ProcessedRecord {
  readonly id: number;
  readonly seq: number;
  /** Delivery count of this delivery. */
  readonly dc: number;
  readonly pid: number;
  /** The handler's outcome: "ack" is a processed healthy message. */
  readonly outcome: "ack" | "reject" | "error" | "crash";
  /** When the handler finished (epoch ms, sub-ms precision). */
  readonly at: number;
}

/** The service's last stdout line after a SIGTERM/SIGINT drain. */
export interface StoppedEvent {
  readonly event: "stopped";
  /** From the signal to `broker.run` resolving. */
  readonly drainMs: number;
  /** Highest RSS sampled over the process's life, in bytes. */
  readonly maxRss: number;
  readonly error?: string;
}

/** A running service child. */
export interface Service {
  readonly pid: number;
  /** Resolves once the route consumes; rejects if the child exits first. */
  readonly ready: Promise<void>;
  /** Resolves when the child exits, with its `stopped` event when it printed one. */
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stopped: StoppedEvent | undefined;
  }>;
  /** Sends a signal (SIGTERM drains, SIGKILL crashes). */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Per-file chaos workspace: a temp dir for the services' output files, every child started,
 * and the result rows. Call inside a `describe`: its `after` hook kills any child still alive,
 * prints the table, and removes the temp dir (before the file's leak check runs).
 */
export interface ChaosBench {
  /** A fresh output file path for one scenario. */
  outFile(name: string): string;
  /** Spawns fixtures/service.ts with `config`. */
  spawnService(config: ServiceConfig): Service;
  /** Adds a row to the table printed after the file. */
  report(row: ResultRow): void;
}

/** One row of the results table. */
export interface ResultRow {
  readonly scenario: string;
  readonly published: number;
  readonly processed: number;
  readonly lost: number | "-";
  readonly duplicated: number | "-";
  readonly ms: number;
  /** The longest gap between consecutive handled messages after the failure (ms), if measured. */
  readonly stallMs?: number;
  readonly note?: string;
}

/** See {@link ChaosBench}. */
export function useChaosBench(): ChaosBench {
  const dir = mkdtempSync(join(tmpdir(), "jetroute-chaos-"));
  const children = new Set<ChildProcess>();
  const rows: ResultRow[] = [];
  let files = 0;
  after(async () => {
    await Promise.all(
      [...children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await gone;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
    printTable(rows);
  });
  return {
    outFile: (name) => join(dir, `${++files}-${name}.jsonl`),
    spawnService: (config) => {
      const service = spawnService(config);
      children.add(service.child);
      return service;
    },
    report: (row) => rows.push(row),
  };
}

function spawnService(config: ServiceConfig): Service & { child: ChildProcess } {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    env: { ...process.env, CHAOS_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stopped: StoppedEvent | undefined;
  let onReady: () => void = () => {};
  let buffered = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
      try {
        const event = JSON.parse(line) as { event?: string };
        if (event.event === "ready") onReady();
        if (event.event === "stopped") stopped = event as StoppedEvent;
      } catch {
        // not one of ours (a stray log line): ignore
      }
    }
  });
  // Resolve on `close`, not `exit`: the last stdout line may still be in the pipe at `exit`.
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stopped: StoppedEvent | undefined;
  }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal, stopped }));
  });
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    exited.then(({ code, signal }) =>
      reject(new Error(`service exited before ready (code ${code}, signal ${signal})`)),
    );
  });
  // A test that fails before awaiting `ready` must not turn it into an unhandled rejection.
  ready.catch(() => {});
  return {
    child,
    pid: child.pid ?? -1,
    ready,
    exited,
    kill: (signal) => {
      child.kill(signal);
    },
  };
}

/** Every record in `file` (a line cut short by SIGKILL is skipped). */
export function readRecords(file: string): ProcessedRecord[] {
  if (!existsSync(file)) return [];
  const out: ProcessedRecord[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.length === 0) continue;
    try {
      out.push(JSON.parse(line) as ProcessedRecord);
    } catch {
      // a torn last line: its message was not acked, so it comes back and is recorded again
    }
  }
  return out;
}

/** Distinct ids with an "ack" record. */
export function ackedIds(records: readonly ProcessedRecord[]): Set<number> {
  return new Set(records.filter((r) => r.outcome === "ack").map((r) => r.id));
}

/** Polls `condition` every 50 ms; fails naming `what` (and the last progress) after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  progress?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (${progress?.() ?? ""})`,
      );
    }
    await sleep(50);
  }
}

/** Waits until `file` holds "ack" records for at least `n` distinct ids. */
export function waitForAcked(file: string, n: number, timeoutMs = 60_000): Promise<void> {
  let seen = 0;
  return waitFor(
    `${n} processed ids in ${file}`,
    () => {
      seen = ackedIds(readRecords(file)).size;
      return seen >= n;
    },
    timeoutMs,
    () => `${seen} seen`,
  );
}

/** Waits until the durable has nothing pending and nothing awaiting an ack: no redelivery to come. */
export async function waitSettled(
  conn: Connection,
  stream: string,
  durable: string,
  timeoutMs = 60_000,
): Promise<void> {
  const jsm = await conn.jetstreamManager();
  let last = "";
  await waitFor(
    `consumer ${durable} to settle`,
    async () => {
      const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
      last = `pending ${info?.num_pending}, ack pending ${info?.num_ack_pending}`;
      return info !== undefined && info.num_pending === 0 && info.num_ack_pending === 0;
    },
    timeoutMs,
    () => last,
  );
}

/** What a scenario's records say about ids `0 .. published-1`. */
export interface Summary {
  /** Distinct ids processed (acked by a handler). */
  readonly processed: number;
  /** Ids never processed. */
  readonly lost: number[];
  /** Extra "ack" records beyond the first per id. */
  readonly duplicated: number;
  /** Ids processed more than once. */
  readonly duplicatedIds: number[];
  /** Ack records per service pid. */
  readonly byPid: ReadonlyMap<number, number>;
}

/** Summarizes the healthy ("ack") records against the ids that were published. */
export function summarize(records: readonly ProcessedRecord[], ids: Iterable<number>): Summary {
  const count = new Map<number, number>();
  const byPid = new Map<number, number>();
  for (const r of records) {
    if (r.outcome !== "ack") continue;
    count.set(r.id, (count.get(r.id) ?? 0) + 1);
    byPid.set(r.pid, (byPid.get(r.pid) ?? 0) + 1);
  }
  const lost: number[] = [];
  for (const id of ids) if (!count.has(id)) lost.push(id);
  const duplicatedIds = [...count].filter(([, n]) => n > 1).map(([id]) => id);
  const duplicated = [...count.values()].reduce((sum, n) => sum + n - 1, 0);
  return { processed: count.size, lost, duplicated, duplicatedIds, byPid };
}

/**
 * At-least-once allows a message to run again only as a redelivery (an ack lost to a crash or a
 * reconnect): every extra run of a duplicated id must carry a delivery count above 1.
 */
export function assertOnlyRedeliveriesDuplicated(
  records: readonly ProcessedRecord[],
  duplicatedIds: readonly number[],
): void {
  for (const id of duplicatedIds) {
    const runs = records.filter((r) => r.id === id && r.outcome === "ack");
    const firsts = runs.filter((r) => r.dc === 1).length;
    assert.ok(firsts <= 1, `id ${id} was delivered for the first time ${firsts} times`);
  }
}

/** `[from, to)` */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * Publishes `{ id }` for each id (with a `Nats-Msg-Id` of `id`, so a retried publish is stored
 * once) through `publishWindowed`, and fails if any publish failed after its retries.
 */
export async function publishIds(
  producer: Producer,
  subject: string,
  ids: Iterable<number>,
  body: (id: number) => Record<string, unknown> = (id) => ({ id }),
): Promise<void> {
  function* items(): Iterable<WindowItem> {
    for (const id of ids) {
      yield { subject, payload: body(id), options: { msgId: `${subject}:${id}` } };
    }
  }
  const result = await producer.publishWindowed(items(), { window: 500 });
  if (result.failed.length > 0) {
    const first = result.failed[0]?.error;
    throw new Error(`${result.failed.length} publishes failed; first: ${String(first)}`, {
      cause: first,
    });
  }
}

/** Prints the results table (to stdout, where node's test reporter shows it). */
export function printTable(rows: readonly ResultRow[]): void {
  if (rows.length === 0) return;
  const header = [
    "scenario",
    "published",
    "processed",
    "lost",
    "duplicated",
    "time",
    "longest stall",
    "note",
  ];
  const cells = rows.map((r) => [
    r.scenario,
    String(r.published),
    String(r.processed),
    String(r.lost),
    String(r.duplicated),
    `${(r.ms / 1000).toFixed(1)} s`,
    r.stallMs === undefined ? "-" : `${(r.stallMs / 1000).toFixed(2)} s`,
    r.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join(" | ")
      .trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...cells.map(line)];
  console.log(`\nchaos results\n${out.join("\n")}\n`);
}
