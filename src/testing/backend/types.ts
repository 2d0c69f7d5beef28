// What every test backend is: the interface a test is written against, and the counters both
// backends report.
import type { JetStreamRouteStats } from "../../consumer/index.js";
import type { Duration } from "../../duration/index.js";
import type { PublishAck } from "../../producer/types.js";
import type { Route } from "../../router/index.js";
import type { MemoryDeadLetter, MemoryPublishOptions } from "../memory-broker/index.js";

/** A route's counters, the same on both backends: those of the real broker's `stats()`. */
export interface TestRouteStats
  extends Pick<
    JetStreamRouteStats,
    "received" | "handled" | "acked" | "nakd" | "deadLettered" | "released"
  > {}

/** Options of {@link TestBackend.settled}. */
export interface SettledOptions {
  /** Server: give up after this long (real time). @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * Where a test runs its routes: in memory ({@link memoryBackend}) or on a real nats-server
 * ({@link serverBackend}). Written against this interface, the same test runs on both by
 * changing the one line that makes the backend.
 * @example
 * const backend = memoryBackend(); // or: serverBackend({ url: server.url })
 * backend.register(chargeRoute);
 * await backend.start();
 * await backend.publish("orders.created", { id: 1 });
 * await backend.settled();
 * assert.equal(backend.stats("charge").acked, 1);
 * await backend.dispose();
 */
export interface TestBackend {
  readonly kind: "memory" | "server";
  /** Adds routes (before `start`); throws the sentinels `Broker.register` throws. */
  register(...routes: Route[]): this;
  /**
   * Starts the routes. Server: creates each route stream (storing its routes' subjects) and a
   * stream for the DLQ subjects, runs a Broker and waits until every route is consuming.
   */
  start(): Promise<void>;
  /** Publishes to JetStream (bytes, a string, or JSON-encoded `data`). */
  publish(subject: string, data?: unknown, options?: MemoryPublishOptions): Promise<PublishAck>;
  /** Now, ms since the epoch: the memory clock, or the wall clock. */
  now(): number;
  /** Lets `by` pass: advances the memory clock, or sleeps on a server. */
  advance(by: Duration): Promise<void>;
  /**
   * Resolves once every message is acked or dead-lettered by every route and no handler runs
   * (memory: fast-forwarding the clock through delays). Rejects with ErrNotSettled otherwise.
   */
  settled(options?: SettledOptions): Promise<void>;
  /** A route's counters. */
  stats(route: string): TestRouteStats;
  /** Messages of a JetStream route not yet acked or dead-lettered (delivered or not). */
  unsettled(route: string): Promise<number>;
  /** Every message stored on the routes' DLQ subjects, oldest first. */
  deadLetters(): Promise<readonly MemoryDeadLetter[]>;
  /** Stops the routes as the Broker does: drains in-flight handlers, releases the rest. */
  stop(): Promise<void>;
  /** `stop()`, then removes what `start()` made (server: streams, connection, own server). */
  dispose(): Promise<void>;
}

/** Only the counters both backends have, frozen. */
export function pickStats(s: TestRouteStats): TestRouteStats {
  const { received, handled, acked, nakd, deadLettered, released } = s;
  return Object.freeze({ received, handled, acked, nakd, deadLettered, released });
}
