// The public types of the in-memory broker: its options, the views tests read, its interface.
import type { Duration } from "../../duration/index.js";
import type { Logger } from "../../logger/index.js";
import type { PublishAck } from "../../producer/types.js";
import type { Route } from "../../router/index.js";
import type { Middleware } from "../../router/types.js";
import type { TestClock } from "../clock.js";
import type { RecordingProducer } from "../producer.js";
import type { TestReply } from "../run-handler.js";

/** Options of {@link memoryBroker}. */
export interface MemoryBrokerOptions {
  /** The clock nak delays and ack wait run on. @default manualClock() */
  readonly clock?: TestClock;
  /** Broker middleware (`withBrokerMiddleware`), outside each route's own. @default none */
  readonly middleware?: readonly Middleware[];
  /**
   * How long in-flight handlers get at `stop()` before their signal aborts with
   * ErrShutdownTimeout (real time, like the handler timeout). @default "30s"
   */
  readonly shutdownTimeout?: Duration;
  /** The routes' logger. @default silent */
  readonly logger?: Logger;
  /** How long a `msgId` is remembered for deduplication, on the clock. @default "2m" */
  readonly duplicateWindow?: Duration;
}

/** Options of {@link MemoryBroker.publish}. */
export interface MemoryPublishOptions {
  /** Header name -> value or values. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** `Nats-Msg-Id`: a repeat within the duplicate window is stored once. */
  readonly msgId?: string;
}

/**
 * Where a message stands with one route: `pending` (deliverable now), `delayed` (nak'd, due
 * later on the clock), `in-flight` (delivered: buffered or its handler running), `unacked`
 * (delivered to a run that stopped or crashed without settling it: redelivered after ack wait),
 * `acked`, `dead-lettered` (stored in the DLQ and terminated) or `terminated` (no DLQ).
 */
export type MemoryMessageState =
  | "pending"
  | "delayed"
  | "in-flight"
  | "unacked"
  | "acked"
  | "dead-lettered"
  | "terminated";

/** A stored message as one route's consumer sees it. */
export interface MemoryMessage {
  readonly route: string;
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string[]>>;
  /** Deliveries so far (0 = never delivered). */
  readonly deliveryCount: number;
  readonly state: MemoryMessageState;
  /** When it is (or was) next deliverable, clock ms; for `unacked`, when its ack wait ends. */
  readonly dueAt: number;
}

/** A message stored on a DLQ subject (by a route giving up, or published there). */
export interface MemoryDeadLetter {
  /** The DLQ subject. */
  readonly subject: string;
  readonly data: Uint8Array;
  /** The original's headers plus the `Jetroute-*` trace headers (see DeadLetterHeader). */
  readonly headers: Readonly<Record<string, string[]>>;
  /** A header's first value. */
  header(name: string): string | undefined;
}

/** A route's counters (the same names as the real broker's `stats()`). */
export interface MemoryRouteStats {
  /** Deliveries (redeliveries count again). */
  readonly received: number;
  /** Handlers that finished. */
  readonly handled: number;
  readonly acked: number;
  readonly nakd: number;
  readonly deadLettered: number;
  /** Handed back unprocessed at stop, or interrupted by the end of the grace period. */
  readonly released: number;
  /** Handlers still running after the grace and abandon periods at stop. */
  readonly abandoned: number;
  /** Handlers running now. */
  readonly inFlight: number;
}

/**
 * JetStream in memory, for fast tests: the same `route(...)` objects as a real Broker, run by
 * the engine's own handler runtime and settlement table. What it models: streams (one per
 * route stream name, storing its routes' subjects), a durable per route (delivery counts,
 * acks, nak delays and ack wait on a {@link TestClock}), concurrency and prefetch, dead
 * letters with the engine's `Jetroute-*` headers on each route's DLQ subject, msgId
 * deduplication, and the drain at `stop()`. What it does not: retention limits, replicas,
 * server versions, consumer config conflicts, reconnects.
 */
export interface MemoryBroker {
  readonly clock: TestClock;
  /** What handlers get as `ctx.producer`: JetStream publishes go into this broker. */
  readonly producer: RecordingProducer;
  /**
   * Validates and adds routes (JetStream, request-reply, queue, fan-out), throwing the same
   * sentinels as `Broker.register`; ErrBrokerRunning while running.
   */
  register(...routes: Route[]): this;
  /**
   * Stores a message in every stream one of whose routes consumes `subject` (and on a DLQ
   * subject, among the dead letters); rejects with ErrPublishFailed (cause ErrNoResponders)
   * when nothing stores it, as JetStream does. `data`: bytes, a string, or JSON-encoded.
   */
  publish(subject: string, data?: unknown, options?: MemoryPublishOptions): Promise<PublishAck>;
  /**
   * A core NATS publish: runs the fan-out routes on `subject` and one route per queue group
   * (while started). A JetStream `publish` reaches them too, as on NATS.
   */
  publishCore(subject: string, data?: unknown, options?: MemoryPublishOptions): void;
  /**
   * Sends a request to the request-reply route on `subject` and returns its reply; rejects
   * with ErrNoResponders when there is none, or the broker is not started.
   */
  request(subject: string, data?: unknown, options?: MemoryPublishOptions): Promise<TestReply>;
  /** Starts delivering (again, after `stop()` or `crash()`: a new process on the same streams). */
  start(): void;
  /** Resolves when no handler runs and nothing is deliverable before the clock moves. */
  idle(): Promise<void>;
  /**
   * Runs until every message of every route is acked or dead-lettered, advancing the clock to
   * each next nak delay or ack wait expiry. Rejects with ErrNotSettled after `maxAdvances`
   * advances (a handler that retries for ever), or when messages are left and the broker is
   * not started. @default maxAdvances 10000
   */
  settled(options?: { readonly maxAdvances?: number }): Promise<void>;
  /**
   * Drains as the engine does: stops delivering, releases messages delivered but not started
   * (their next delivery counts one more, as on JetStream), waits for running handlers (the
   * shutdown timeout, then ctx.signal aborts with ErrShutdownTimeout, then abandons them).
   */
  stop(): Promise<void>;
  /**
   * Stops at once, as a killed process: running handlers' results are ignored and their
   * messages, like the buffered ones, are redelivered after ack wait on the clock.
   */
  crash(): void;
  /** Every stored message as each JetStream route sees it, or only `route`'s. */
  messages(route?: string): readonly MemoryMessage[];
  /** `messages(route)` in state acked. */
  acked(route?: string): readonly MemoryMessage[];
  /** `messages(route)` not yet acked, dead-lettered or terminated. */
  pending(route?: string): readonly MemoryMessage[];
  /** Dead letters in the order stored, or those on the DLQ subject `subject`. */
  deadLetters(subject?: string): readonly MemoryDeadLetter[];
  /** A route's counters; throws ErrInvalidOption for an unknown route. */
  stats(route: string): MemoryRouteStats;
}
