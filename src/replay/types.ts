import type { ConsumerConfig } from "@nats-io/jetstream";
import type { Logger } from "../logger/index.js";
import type { StartAt } from "../position/index.js";
import type { Producer } from "../producer/types.js";
import type { Middleware } from "../router/types.js";

/** Where a replay stops: `"end"`, a stream sequence, or a time (see {@link ReplayOptions.to}). */
export type ReplayEnd = "end" | StartAt;

/** What `replay(conn, route, options)` takes. */
export interface ReplayOptions {
  /**
   * Where to start, inclusive: `"all"` (the stream's first message), a stream sequence (`1042`,
   * `"1042"`), a time (a `Date`, an ISO 8601 string: the first message stored at or after it)
   * or a duration back from now (`"15m"`, `"2h"`). `"new"` and `"last-per-subject"` are
   * refused (ErrInvalidOption): a replay reads what is already stored.
   */
  readonly from: StartAt;
  /**
   * Where to stop, inclusive: `"end"` (the stream's last sequence when the replay started;
   * messages stored later are not replayed), a stream sequence, or a time / duration back from
   * now (every message stored at or before it, to the millisecond).
   * @default "end"
   */
  readonly to?: ReplayEnd;
  /**
   * Stops the replay: no further message is read, in-flight handlers see `ctx.signal` abort
   * (reason ErrShutdownTimeout, so what they return counts as interrupted, not handled), and
   * `replay` resolves with the partial summary and `aborted: true` once they returned.
   */
  readonly signal?: AbortSignal;
  /**
   * Called with the progress so far, at most every {@link ReplayOptions.progressIntervalMs} and
   * once at the end (`done: true`). A throw is caught and logged.
   */
  readonly onProgress?: (progress: ReplayProgress) => void;
  /** How often `onProgress` is called while the replay reads, ms (a timer, never per message; 0 = as often as the event loop allows). @default 250 */
  readonly progressIntervalMs?: number;
  /** Middleware around the route's own, outermost first (as the broker's would be). @default none */
  readonly middleware?: readonly Middleware[];
  /** @default silent */
  readonly logger?: Logger;
  /** What handlers get as `ctx.producer`. @default createProducer(conn) */
  readonly producer?: Producer;
  /**
   * Messages handled at once. 1 handles them one by one in stream order (a retried message is
   * retried before the next one starts); more overlaps them, so handling order is no longer
   * stream order. A retry waits for its delay in its slot.
   * @default 1
   */
  readonly concurrency?: number;
}

/** What a replay did; every count is of messages (not attempts). */
export interface ReplaySummary {
  /** Messages read from the stream within the range (each counted once, however often retried). */
  readonly delivered: number;
  /** Messages whose handler succeeded (returned, `ack()`), possibly after retries. */
  readonly handled: number;
  /**
   * Messages that failed for good and could not be dead-lettered: the route has no DLQ, or
   * storing the dead letter failed (both logged at error).
   */
  readonly failed: number;
  /** Messages that failed for good and were stored in the route's DLQ. */
  readonly deadLettered: number;
  /** Messages whose handler was stopped by the abort (`aborted` is true): neither handled nor failed. */
  readonly interrupted: number;
  /**
   * Redriven messages meant for another durable (`Jetroute-Redrive-Durable`), not run: as the
   * live route skips them, so does its replay.
   */
  readonly skipped: number;
  /** Wall time of the whole replay, ms. */
  readonly durationMs: number;
  /** Stream sequence of the first message read; undefined when none was. */
  readonly firstSeq: number | undefined;
  /** Stream sequence of the last message read; undefined when none was. */
  readonly lastSeq: number | undefined;
  /**
   * The last stream sequence the range allowed, fixed when the replay started: the stream's
   * last sequence then, lowered to `to` (a sequence), or to the last message stored at or
   * before `to` (a time). 0 when the stream was empty.
   */
  readonly endSeq: number;
  /** True when `signal` stopped the replay before the end of the range. */
  readonly aborted: boolean;
}

/** The progress of a running replay (see {@link ReplayOptions.onProgress}). */
export interface ReplayProgress {
  readonly delivered: number;
  readonly handled: number;
  readonly failed: number;
  readonly deadLettered: number;
  /** Stream sequence of the last message read; undefined before the first. */
  readonly lastSeq: number | undefined;
  /** As in {@link ReplaySummary.endSeq}. */
  readonly endSeq: number;
  /**
   * Messages of the route's subjects stored after `lastSeq` as the server last reported it
   * (for a progress bar's total: `delivered + remaining`); may count messages past `endSeq`.
   */
  readonly remaining: number;
  readonly elapsedMs: number;
  /** True on the last call. */
  readonly done: boolean;
}

/** Where `resetDurable` moves a durable: a stream sequence, a time, a duration back, or `"all"`. */
export interface ResetOptions {
  /**
   * The first message the durable delivers next: `"all"` (the stream's first message), a stream
   * sequence, a time (a `Date`, an ISO 8601 string: the first message stored at or after it)
   * or a duration back from now (`"2h"`). `"new"` and `"last-per-subject"` are refused.
   */
  readonly to: StartAt;
  /** @default silent */
  readonly logger?: Logger;
}

/** What `resetDurable` did. */
export interface ResetResult {
  /**
   * `"reset-api"`: moved in place with the consumer reset API (nats-server 2.14+, a durable with
   * `deliver_policy` all / by_start_sequence / by_start_time); `"recreated"`: deleted and
   * created again with the same config, starting at `seq`.
   */
  readonly method: "reset-api" | "recreated";
  /** The stream sequence the durable delivers from next (the first one at or after a time). */
  readonly seq: number;
  /** The time asked for, when `to` was a time or a duration back. */
  readonly time: Date | undefined;
  /** The durable's config after the reset, as the server reports it. */
  readonly config: ConsumerConfig;
}
