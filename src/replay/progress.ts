import type { Logger } from "../logger/index.js";
import { guardHook } from "../runtime/index.js";
import type { Verdict } from "./handle.js";
import type { ReplayProgress, ReplaySummary } from "./types.js";

/**
 * A replay's counters. Progress is reported by a timer, not per message, so a fast replay
 * pays nothing for it; the last report comes from `finish`.
 */
export class ReplayCounts {
  delivered = 0;
  handled = 0;
  failed = 0;
  deadLettered = 0;
  interrupted = 0;
  skipped = 0;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  remaining = 0;
  endSeq = 0;
  readonly #started = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #onProgress: ((p: ReplayProgress) => void) | undefined;
  readonly #log: Logger;

  constructor(onProgress: ((p: ReplayProgress) => void) | undefined, log: Logger) {
    this.#onProgress = onProgress;
    this.#log = log;
  }

  /** Starts the periodic reports (none without an onProgress callback). */
  startReports(intervalMs: number): void {
    if (this.#onProgress === undefined) return;
    this.#timer = setInterval(() => this.#report(false), Math.max(intervalMs, 1));
    // A replay is awaited by its caller; its progress timer must not keep a process alive.
    this.#timer.unref();
  }

  /** A message was read. */
  read(seq: number, remaining: number): void {
    this.delivered++;
    this.firstSeq ??= seq;
    this.lastSeq = seq;
    this.remaining = remaining;
  }

  count(v: Verdict): void {
    switch (v) {
      case "handled":
        this.handled++;
        return;
      case "dead-lettered":
        this.deadLettered++;
        return;
      case "failed":
        this.failed++;
        return;
      case "interrupted":
        this.interrupted++;
        return;
      case "skipped":
        this.skipped++;
        return;
    }
  }

  /** Stops the periodic reports (idempotent). */
  stopReports(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the reports, sends the last one (`done: true`), and returns the summary. */
  finish(aborted: boolean): ReplaySummary {
    this.stopReports();
    if (!aborted) this.remaining = 0;
    this.#report(true);
    return Object.freeze({
      delivered: this.delivered,
      handled: this.handled,
      failed: this.failed,
      deadLettered: this.deadLettered,
      interrupted: this.interrupted,
      skipped: this.skipped,
      durationMs: this.#elapsed(),
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      endSeq: this.endSeq,
      aborted,
    });
  }

  #elapsed(): number {
    return Math.round(performance.now() - this.#started);
  }

  #report(done: boolean): void {
    const onProgress = this.#onProgress;
    if (onProgress === undefined) return;
    const p: ReplayProgress = Object.freeze({
      delivered: this.delivered,
      handled: this.handled,
      failed: this.failed,
      deadLettered: this.deadLettered,
      lastSeq: this.lastSeq,
      endSeq: this.endSeq,
      remaining: this.remaining,
      elapsedMs: this.#elapsed(),
      done,
    });
    guardHook(
      () => onProgress(p),
      (err) => this.#log.error({ err }, "replay onProgress failed"),
    );
  }
}
