import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Connection } from "../src/conn/types.js";

/** What every measure gets from the bench runner. */
export interface BenchContext {
  /** The jetroute side's connection, from jetroute's `connect()`. */
  readonly conn: Connection;
  /**
   * The raw side's own connection, with nats.js's defaults as its docs show them (async traces
   * on; jetroute turns them off, see `withAsyncTraces`). The publish measure also compares with
   * a raw connection that has them off.
   */
  readonly raw: { readonly nc: NatsConnection; readonly js: JetStreamClient };
  /** The server's `nats://` URL, for measures that need connections of their own. */
  readonly url: string;
  /** Rounds per side; the reported figure is the median. @default 5 (`BENCH_ROUNDS`) */
  readonly rounds: number;
  /** Writes a progress line to stderr (stdout carries only results). */
  log(line: string): void;
}

/**
 * One measure's outcome. `raw` and `jetroute` are figures in `unit` (the median of the
 * rounds); `ratio` is what the goal is compared with: jetroute / raw unless the measure says
 * otherwise (`ratioOf`), e.g. jetroute / the ideal rate of an I/O-bound handler.
 */
export interface MeasureOutcome {
  /** Messages (or requests) per round, for the report. */
  readonly messages: number;
  /** Rounds per side the figures are the median of. @default the context's rounds */
  readonly rounds?: number;
  /** @default "msg/s" */
  readonly unit?: string;
  /** The raw client's figure; absent for measures with no raw side (RSS). */
  readonly raw?: number;
  readonly jetroute: number;
  /** @default jetroute / raw */
  readonly ratio?: number;
  /** What the ratio divides by. @default "raw" */
  readonly ratioOf?: string;
  /** The ratio this measure should reach (issue 5's goals). */
  readonly goal?: number;
  /** Further numbers worth keeping (latencies, drops, RSS samples). */
  readonly details?: Readonly<Record<string, number | string>>;
}

/**
 * A benchmark comparing the raw nats.js client with jetroute doing the same work. Files in
 * `bench/measures/` export them; `bench/index.ts` lists them.
 */
export interface Measure {
  /** Short, stable, used in `ratio <name> <value>` lines, results.json and `BENCH_ONLY`. */
  readonly name: string;
  /** One line saying what is measured. */
  readonly description: string;
  run(ctx: BenchContext): Promise<MeasureOutcome>;
}
