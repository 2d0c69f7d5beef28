import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Connection } from "../src/conn/types.js";

/** What every measure gets from the bench runner. */
export interface BenchContext {
  /** The jetroute side's connection, from jetroute's `connect()`. */
  readonly conn: Connection;
  /**
   * The raw side's own connection, made with nats.js defaults (as a user of the bare client
   * would), so connection-level tuning in jetroute counts in jetroute's favour or against it.
   */
  readonly raw: { readonly nc: NatsConnection; readonly js: JetStreamClient };
  /** The server's `nats://` URL, for measures that need connections of their own. */
  readonly url: string;
  /** Rounds per side; the reported figure is the median. @default 5 (`BENCH_ROUNDS`) */
  readonly rounds: number;
  /** Writes a progress line to stderr (stdout carries only results). */
  log(line: string): void;
}

/** One measure's outcome: the median throughput of each side. */
export interface MeasureOutcome {
  readonly rawMsgPerSec: number;
  readonly jetrouteMsgPerSec: number;
  /** Messages per round, for the report. */
  readonly messages: number;
}

/**
 * A benchmark comparing the raw nats.js client with jetroute doing the same work. Files in
 * `bench/measures/` export one as `measure`; `bench/index.ts` lists them.
 */
export interface Measure {
  /** Short, stable, used in `ratio <name> <value>` lines and results.json. */
  readonly name: string;
  /** One line saying what is measured. */
  readonly description: string;
  run(ctx: BenchContext): Promise<MeasureOutcome>;
}
