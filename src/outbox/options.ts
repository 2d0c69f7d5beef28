import type { Registry } from "prom-client";
import { jsonCodec } from "../codec/index.js";
import type { Codec } from "../codec/types.js";
import { type Duration, toBackoffMillis, toTimerMillis } from "../duration/index.js";
import { ErrInvalidDuration, ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { componentLogger, type Logger, silentLogger } from "../logger/index.js";
import { isCodec } from "../producer/options.js";
import { DEFAULT_OUTBOX_TABLE, type OutboxTable, outboxTable } from "./table.js";

/** What outbox options write into; read once by `createOutbox`. */
export interface OutboxDraft {
  table?: unknown;
  batchSize?: unknown;
  concurrency?: unknown;
  pollInterval?: unknown;
  backoffInitial?: unknown;
  backoffMax?: unknown;
  listen?: unknown;
  registry?: unknown;
  codec?: unknown;
  logger?: unknown;
}

/** Configures `createOutbox`. Options only record; `createOutbox` validates them once. */
export type OutboxOption = (draft: OutboxDraft) => void;

/** An outbox's validated, frozen settings. */
export interface OutboxSettings {
  readonly table: OutboxTable;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly pollIntervalMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly listen: boolean;
  readonly registry: Registry | undefined;
  readonly codec: Codec;
  readonly logger: Logger;
}

/**
 * The outbox table, `table` or `schema.table`; the same name given to `migrateOutbox`.
 * @default "jetroute_outbox"
 */
export function withOutboxTable(table: string): OutboxOption {
  return (d) => {
    d.table = table;
  };
}

/**
 * Rows one relay batch locks, publishes (all of them in flight at once) and marks, in one
 * transaction. An integer from 1 to 10,000.
 * @default 500
 */
export function withRelayBatchSize(rows: number): OutboxOption {
  return (d) => {
    d.batchSize = rows;
  };
}

/**
 * Batches one relay runs at once, each on its own connection with its own rows (`SKIP
 * LOCKED`): one batch's database work overlaps another's publishes. An integer from 1 to 64.
 * @default 2
 */
export function withRelayConcurrency(batches: number): OutboxOption {
  return (d) => {
    d.concurrency = batches;
  };
}

/**
 * How often an idle relay looks for rows. With LISTEN on (the default) a commit wakes it at
 * once; the poll finds rows whose retry delay has passed and covers a lost notification.
 * @default "1s"
 */
export function withRelayPollInterval(interval: Duration): OutboxOption {
  return (d) => {
    d.pollInterval = interval;
  };
}

/**
 * Delay before a failed row is tried again: `initial`, doubling with each failed attempt,
 * capped at `max`. Rows are retried without limit; `attempts` and `last_error` tell why.
 * @default "1s", "1m"
 */
export function withRelayBackoff(initial: Duration, max: Duration): OutboxOption {
  return (d) => {
    d.backoffInitial = initial;
    d.backoffMax = max;
  };
}

/**
 * LISTEN on the table's channel (one pooled connection per relay), so a commit wakes the relay
 * at once. Turn it off behind a transaction-mode pooler (PgBouncer), where LISTEN does not work;
 * the relay then polls.
 * @default true
 */
export function withRelayListen(listen: boolean): OutboxOption {
  return (d) => {
    d.listen = listen;
  };
}

/**
 * Prometheus metrics of the outbox in `registry` (prom-client): `jetroute_outbox_pending_rows`,
 * `jetroute_outbox_oldest_pending_age_seconds`, `jetroute_outbox_failing_rows` (read from the
 * table at scrape), `jetroute_outbox_published_total`, `jetroute_outbox_failures_total` (by
 * `stage`: `publish`, `database`), all labelled `table`. Publishes themselves are counted by
 * the producer (`withPublishMetrics`).
 * @default off
 */
export function withOutboxMetrics(options: { readonly registry: Registry }): OutboxOption {
  return (d) => {
    d.registry = (options as { registry?: unknown } | undefined)?.registry ?? options;
  };
}

/**
 * Encodes `enqueue` payloads that are not a `Uint8Array` (which is stored as is).
 * @default jsonCodec()
 */
export function withOutboxCodec(codec: Codec): OutboxOption {
  return (d) => {
    d.codec = codec;
  };
}

/**
 * Where the relay logs failed batches and database errors.
 * @default silent (failures still show in the table and the metrics)
 */
export function withOutboxLogger(logger: Logger): OutboxOption {
  return (d) => {
    d.logger = logger;
  };
}

/** Defaults, then options, then one validation pass; the result is frozen. */
export function resolveOutboxSettings(options: readonly OutboxOption[]): OutboxSettings {
  const d: OutboxDraft = {};
  for (const option of options) {
    if (typeof option !== "function") {
      throw new ErrInvalidOption(
        invalidValueMessage(
          "createOutbox option",
          option,
          "an option such as withOutboxTable(...)",
        ),
      );
    }
    option(d);
  }
  const table = outboxTable(d.table ?? DEFAULT_OUTBOX_TABLE, "withOutboxTable");
  const batchSize = integer(d.batchSize ?? 500, "withRelayBatchSize", 1, 10_000);
  const concurrency = integer(d.concurrency ?? 2, "withRelayConcurrency", 1, 64);
  const pollIntervalMs = toTimerMillis(d.pollInterval ?? "1s", "withRelayPollInterval");
  if (pollIntervalMs < 1) {
    throw new ErrInvalidDuration(
      invalidValueMessage("withRelayPollInterval", d.pollInterval, "at least 1 ms"),
    );
  }
  const { initialMs: backoffInitialMs, maxMs: backoffMaxMs } = toBackoffMillis(
    d.backoffInitial ?? "1s",
    d.backoffMax ?? "1m",
    "withRelayBackoff",
  );
  const listen = d.listen ?? true;
  if (typeof listen !== "boolean") {
    throw new ErrInvalidOption(invalidValueMessage("withRelayListen", listen, "true or false"));
  }
  if (d.registry !== undefined && !isRegistry(d.registry)) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "withOutboxMetrics registry",
        d.registry,
        'a prom-client Registry (import { Registry } from "prom-client"; new Registry())',
      ),
    );
  }
  const codec = d.codec ?? jsonCodec();
  if (!isCodec(codec)) {
    throw new ErrInvalidOption(
      invalidValueMessage("withOutboxCodec", codec, "an object with encode and decode functions"),
    );
  }
  if (d.logger !== undefined && !isLogger(d.logger)) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "withOutboxLogger",
        d.logger,
        "a logger with debug/info/warn/error/child",
      ),
    );
  }
  const logger = componentLogger((d.logger as Logger | undefined) ?? silentLogger(), "outbox", {
    table: table.name,
  });
  return Object.freeze({
    table,
    batchSize,
    concurrency,
    pollIntervalMs,
    backoffInitialMs,
    backoffMaxMs,
    listen,
    registry: d.registry as Registry | undefined,
    codec,
    logger,
  });
}

function integer(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ErrInvalidOption(
      invalidValueMessage(option, value, `an integer from ${min} to ${max.toLocaleString("en")}`),
    );
  }
  return value;
}

/** Duck-typed, so a Registry from another copy of prom-client is accepted too. */
function isRegistry(value: unknown): value is Registry {
  const r = value as Record<string, unknown> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.registerMetric === "function" &&
    typeof r.getSingleMetric === "function" &&
    typeof r.metrics === "function"
  );
}

function isLogger(value: unknown): value is Logger {
  const l = value as Logger | null;
  return (
    typeof l === "object" &&
    l !== null &&
    typeof l.debug === "function" &&
    typeof l.warn === "function" &&
    typeof l.error === "function" &&
    typeof l.child === "function"
  );
}
