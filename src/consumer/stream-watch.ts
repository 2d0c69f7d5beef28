import type { JetStreamManager } from "@nats-io/jetstream";
import { ErrStreamRecreated } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { type RecoveryPlan, recoveryPlan, type StreamIdentity } from "./recovery.js";
import type { ReplayGuard } from "./replay-guard.js";
import type { StatsCounter } from "./stats.js";
import { requireStream } from "./stream-checks.js";

/** What the watch changes in the engine when its stream turns out to be a new one. */
export interface StreamWatchDeps {
  readonly guard: ReplayGuard;
  readonly stats: StatsCounter;
  readonly log: Logger;
  /** Gives up on handlers still running; returns how many. */
  abandonWorking(): number;
  fail(err: unknown): void;
}

/**
 * Remembers the stream a route started on, to tell it from a new stream of the same name
 * (deleted and created again, or a memory stream lost with its server): see `recoveryPlan`.
 */
export class StreamWatch {
  readonly #spec: JetStreamRouteSpec;
  readonly #d: StreamWatchDeps;
  #identity: StreamIdentity | undefined;

  constructor(spec: JetStreamRouteSpec, deps: StreamWatchDeps) {
    this.#spec = spec;
    this.#d = deps;
  }

  /** Reads the stream at start; rejects with ErrStreamNotFound when it is missing. */
  async start(jsm: JetStreamManager): Promise<void> {
    this.#identity = await requireStream(jsm, this.#spec);
  }

  /**
   * Reads the stream and says how to recover the consumer. On a new stream it forgets the old
   * one's floor and settled sequences (its restarted sequences are not replays), abandons
   * handlers still running on old messages (their acks would reach the new consumer), then
   * consumes it (warn, `streamsRecreated`) or fails the route with ErrStreamRecreated
   * (`withOnStreamRecreated("fail")`; resolves undefined).
   */
  async check(jsm: JetStreamManager): Promise<RecoveryPlan | undefined> {
    const { guard, stats, log } = this.#d;
    const now = await requireStream(jsm, this.#spec);
    const before = this.#identity ?? now;
    const plan = recoveryPlan(before, now, guard.floor);
    if (!plan.streamRecreated) return plan;
    const { stream, name, onStreamRecreated } = this.#spec;
    const floor = guard.floor;
    this.#identity = now;
    guard.reset();
    stats.abandoned += this.#d.abandonWorking();
    if (onStreamRecreated === "fail") {
      this.#d.fail(new ErrStreamRecreated(name, stream, before.created, now.created));
      return undefined;
    }
    stats.streamsRecreated++;
    const fields = { stream, created: now.created, previousCreated: before.created, floor };
    log.warn(fields, "stream created again; consuming it from its first message");
    return plan;
  }
}
