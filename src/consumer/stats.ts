import type { ConsumerLag } from "../health/types.js";
import type { InboxCounter } from "../inbox/stats.js";
import type { InboxStats } from "../inbox/types.js";
import type { ReplayGuard, ReplayGuardStats } from "./replay-guard.js";

/**
 * Counters and gauges of a JetStream route, cumulative over its runner's runs; the gauges
 * (`inFlight`, `buffered`, `held`, `ackFloor`) are read live from the current run.
 */
export interface JetStreamRouteStats {
  /** Messages taken from the consumer (each delivery counts, redeliveries too). */
  readonly received: number;
  /** Handlers that finished, whatever their result. */
  readonly handled: number;
  /** Messages acked after their handler. */
  readonly acked: number;
  /** Messages nak'd for a later retry (including dead-letter publishes that failed). */
  readonly nakd: number;
  /** Messages terminated as dead letters (copied to the DLQ first when the route has one). */
  readonly deadLettered: number;
  /**
   * Messages handed back with a bare nak: unprocessed at shutdown or when the consumer was
   * lost, or whose handler was interrupted by the end of the shutdown grace period.
   */
  readonly released: number;
  /** Redeliveries of messages this route had already settled, acked without a second run. */
  readonly replaysSkipped: number;
  /** Second copies of a message whose handler was still running; neither run nor acked. */
  readonly duplicatesSkipped: number;
  /**
   * Redriven messages meant for another durable (`Jetroute-Redrive-Durable`), acked without
   * running the handler: a redrive re-runs only the consumer that gave up on the message.
   */
  readonly redrivesSkipped: number;
  /** Times the durable consumer was found gone and created again (not counted when found intact). */
  readonly consumerRecreated: number;
  /**
   * Times the stream was found created again under the same name (sequences restarted) and
   * consumed from its first message; see `withOnStreamRecreated`.
   */
  readonly streamsRecreated: number;
  /** Handlers still running after the shutdown grace and abandon periods. */
  readonly abandoned: number;
  /**
   * Handlers running, plus messages whose dead letter is being stored (the worker is freed as
   * soon as the handler is done): at most `concurrency` of each.
   */
  readonly inFlight: number;
  /** Messages received from the server and waiting in the client for a worker. */
  readonly buffered: number;
  /**
   * `inFlight + buffered`: messages this process holds, received but not settled. Bounded by
   * `concurrency + prefetch` whatever the backlog (plus up to `concurrency` more while dead
   * letters are being stored).
   */
  readonly held: number;
  /** The consumer's last known ack floor (a stream sequence; 0 when nothing is acked). */
  readonly ackFloor: number;
  /**
   * The replay guard: which sequences above `ackFloor` this route settled, so a redelivery of
   * one is acked without a second run. Its memory is fixed (`bytes`, 128 KiB by default, a
   * window of `capacity` stream sequences above the floor), whatever is settled; `tracked`
   * sequences are recorded; `evicted` counts settled sequences it had to forget while the
   * floor was pinned more than `capacity` sequences behind (a replay of one runs its handler
   * again, which at-least-once allows).
   */
  readonly replayGuard: ReplayGuardStats;
  /**
   * The route's inbox (withInbox): duplicates acked without a run, busy deliveries nak'd,
   * claims taken over, leases lost, store errors. Undefined when the route has no inbox.
   */
  readonly inbox: InboxStats | undefined;
}

/** Live gauges of the running engine. */
export interface EngineGauges {
  readonly inFlight: number;
  readonly buffered: number;
  readonly ackFloor: number;
  /** `stalled`: no pull heartbeat for two beats with a worker free; `recovering`: re-provisioning. */
  readonly condition: "ok" | "stalled" | "recovering";
}

const IDLE: EngineGauges = Object.freeze({
  inFlight: 0,
  buffered: 0,
  ackFloor: 0,
  condition: "ok",
});

/** The mutable side of {@link JetStreamRouteStats}, owned by the runner. */
export class StatsCounter {
  received = 0;
  handled = 0;
  acked = 0;
  nakd = 0;
  deadLettered = 0;
  released = 0;
  replaysSkipped = 0;
  duplicatesSkipped = 0;
  redrivesSkipped = 0;
  consumerRecreated = 0;
  streamsRecreated = 0;
  abandoned = 0;
  /** Set by the running engine; reads its gauges. */
  probe: () => EngineGauges = () => IDLE;
  /** The consumer's counts, last read by the engine's lag poll (health interval). */
  lag: ConsumerLag | undefined;
  readonly #guard: ReplayGuard;
  /** Set when the route has an inbox. */
  readonly inbox: InboxCounter | undefined;

  constructor(guard: ReplayGuard, inbox?: InboxCounter) {
    this.#guard = guard;
    this.inbox = inbox;
  }

  snapshot(): JetStreamRouteStats {
    const { inFlight, buffered, ackFloor } = this.probe();
    return Object.freeze({
      received: this.received,
      handled: this.handled,
      acked: this.acked,
      nakd: this.nakd,
      deadLettered: this.deadLettered,
      released: this.released,
      replaysSkipped: this.replaysSkipped,
      duplicatesSkipped: this.duplicatesSkipped,
      redrivesSkipped: this.redrivesSkipped,
      consumerRecreated: this.consumerRecreated,
      streamsRecreated: this.streamsRecreated,
      abandoned: this.abandoned,
      inFlight,
      buffered,
      held: inFlight + buffered,
      ackFloor,
      replayGuard: Object.freeze(this.#guard.stats()),
      inbox: this.inbox?.snapshot(),
    });
  }
}
