// ============================================================================================
// PENDING MERGE. The library APIs behind `jetroute replay`, `durable reset` and `dlq ...` are
// being written on other branches (src/replay, src/dlq). This file states the signatures the
// CLI codes against and loads the functions at run time, so the CLI typechecks and the other
// commands work before those modules exist.
//
// AT MERGE: replace everything below the types with static imports, so tsc checks the contract:
//   export { replay, resetDurable } from "../replay/index.js";
//   export { listDeadLetters, getDeadLetter, redriveDeadLetters, purgeDeadLetters }
//     from "../dlq/index.js";
//   (and the types, from the same modules), then delete the loader.
// Until then a command needing a missing module exits 1: `... is not available in this build`.
// ============================================================================================
import type { Connection } from "../conn/index.js";
import type { StartAt } from "../position/index.js";
import type { Middleware, Route } from "../router/index.js";
import { OperationError } from "./exit.js";

export interface ReplayProgress {
  delivered: number;
  handled: number;
  failed: number;
  deadLettered: number;
  lastSeq: number;
  endSeq: number;
}

export interface ReplaySummary {
  delivered: number;
  handled: number;
  failed: number;
  deadLettered: number;
  durationMs: number;
  firstSeq: number;
  lastSeq: number;
  endSeq: number;
  aborted?: boolean;
}

export interface ReplayOptions {
  from: StartAt;
  to?: "end" | StartAt;
  signal?: AbortSignal;
  onProgress?: (p: ReplayProgress) => void;
  middleware?: Middleware[];
}

export interface ResetDurableResult {
  method: "reset-api" | "recreated";
  [key: string]: unknown;
}

export interface DeadLetterFilter {
  route?: string;
  durable?: string;
  subject?: string;
  reason?: string;
  since?: Date;
  before?: Date;
}

export interface DeadLetter {
  seq: number;
  subject: string;
  storedAt: Date | string;
  originalSubject: string | undefined;
  stream: string | undefined;
  sequence: number | undefined;
  deliveryCount: number | undefined;
  error: string | undefined;
  route: string | undefined;
  durable: string | undefined;
  time: Date | string | undefined;
  /** A nats.js MsgHdrs or a plain record; the CLI accepts both. */
  headers: unknown;
  data: Uint8Array;
  payloadTruncated?: boolean;
}

/** Shape assumed for redrive progress (not fixed in the plan; adjust at merge). */
export interface RedriveProgress {
  processed?: number;
  total?: number;
  published?: number;
  [key: string]: unknown;
}

export interface RedriveResult {
  matched: number;
  published: number;
  duplicates: number;
  removed: number;
  kept: number;
  failed: Array<{ seq: number; error: unknown }>;
}

export interface ReplayApi {
  replay(conn: Connection, route: Route, options: ReplayOptions): Promise<ReplaySummary>;
  resetDurable(
    conn: Connection,
    stream: string,
    durable: string,
    options: { to: StartAt },
  ): Promise<ResetDurableResult>;
}

export interface DlqApi {
  listDeadLetters(
    conn: Connection,
    dlqStream: string,
    options?: { filter?: DeadLetterFilter; limit?: number; signal?: AbortSignal },
  ): Promise<DeadLetter[]>;
  getDeadLetter(conn: Connection, dlqStream: string, seq: number): Promise<DeadLetter>;
  redriveDeadLetters(
    conn: Connection,
    dlqStream: string,
    options?: {
      filter?: DeadLetterFilter;
      to?: string;
      dryRun?: boolean;
      keep?: boolean;
      signal?: AbortSignal;
      onProgress?: (p: RedriveProgress) => void;
    },
  ): Promise<RedriveResult>;
  purgeDeadLetters(
    conn: Connection,
    dlqStream: string,
    options?: { filter?: DeadLetterFilter; signal?: AbortSignal },
  ): Promise<{ purged: number }>;
}

// --- loader: delete at merge ----------------------------------------------------------------

async function load<T>(specifier: string, names: readonly string[], feature: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    // a variable specifier: tsc does not resolve it, so this compiles before the module exists
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (cause) {
    if ((cause as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND") {
      throw new OperationError(`${feature} is not available in this build (not merged yet)`, {
        cause,
      });
    }
    throw cause;
  }
  const missing = names.filter((n) => typeof mod[n] !== "function");
  if (missing.length > 0) {
    throw new OperationError(
      `${feature} is not available in this build (missing ${missing.join(", ")})`,
    );
  }
  return mod as T;
}

const REPLAY_MODULE = "../replay/index.js";
const DLQ_MODULE = "../dlq/index.js";

export function replayApi(): Promise<ReplayApi> {
  return load<ReplayApi>(REPLAY_MODULE, ["replay", "resetDurable"], "replay");
}

export function dlqApi(): Promise<DlqApi> {
  return load<DlqApi>(
    DLQ_MODULE,
    ["listDeadLetters", "getDeadLetter", "redriveDeadLetters", "purgeDeadLetters"],
    "dead letter management",
  );
}
