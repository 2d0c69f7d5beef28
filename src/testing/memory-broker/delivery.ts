// Delivery and settlement on the clock: what is due goes to each route's workers (up to
// concurrency + prefetch), each result goes through the engine's settlement table, and waiters
// learn when nothing more can happen before the clock moves.
import type { MsgHdrs } from "@nats-io/nats-core";
import { beforeRun, decideSettlement, PULL, type Settlement } from "../../consumer/index.js";
import { ErrShutdownTimeout } from "../../errors/index.js";
import type { Logger } from "../../logger/index.js";
import type { PublishAck } from "../../producer/types.js";
import { testMessageView } from "../message.js";
import { entryDeadLetterHeaders } from "./dead-letters.js";
import { type BrokerState, type Consumer, type ContextOf, type Entry, isDue } from "./state.js";

/** Stores a message as a publish does (used for dead letters). */
export type StoreFn = (
  subject: string,
  data: Uint8Array,
  headers: MsgHdrs | undefined,
) => Promise<PublishAck>;

export class Delivery {
  readonly #state: BrokerState;
  readonly #context: ContextOf;
  readonly #store: StoreFn;
  #pumpQueued = false;
  #waiters: (() => void)[] = [];

  constructor(state: BrokerState, context: ContextOf, store: StoreFn) {
    this.#state = state;
    this.#context = context;
    this.#store = store;
  }

  /** Pumps once in a microtask, however many times it is asked before then. */
  schedule(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
      this.notify();
    });
  }

  /** Delivers what is due, up to concurrency + prefetch per route, and starts workers. */
  #pump(): void {
    if (this.#state.phase !== "running") return;
    const now = this.#state.clock.now();
    for (const c of this.#state.consumers.values()) {
      const room = c.spec.concurrency + c.spec.prefetch;
      // Redeliveries first, then new messages, each oldest first (as the server's rdq).
      const due = c.entries
        .filter((e) => isDue(e, now))
        .sort((a, b) => Number(b.deliveries > 0) - Number(a.deliveries > 0));
      for (const e of due) {
        if (c.held + c.running >= room) break;
        e.deliveries++;
        e.state = "held";
        c.held++;
        c.stats.received++;
      }
      for (const e of c.entries) {
        if (c.running >= c.spec.concurrency) break;
        if (e.state === "held") void this.#run(c, e);
      }
    }
  }

  /** One delivery, from worker to settlement: the engine's runtime and settlement table. */
  async #run(c: Consumer, e: Entry): Promise<void> {
    e.state = "running";
    c.held--;
    c.running++;
    const token = ++e.token;
    const deliveryCount = e.deliveries;
    const log = c.logger.child({ seq: e.stored.seq, deliveryCount });
    let s: Settlement | undefined = beforeRun(c.spec, deliveryCount);
    if (s === undefined) {
      const msg = testMessageView(c.spec, {
        subject: e.stored.subject,
        data: e.stored.data,
        headers: e.stored.headers,
        deliveryCount,
        streamSequence: e.stored.seq,
        timestamp: e.stored.timestamp,
      });
      const result = await c.runtime.run(msg, this.#context(c.spec.name, log));
      if (e.token !== token) return; // given up on (crash, abandoned): the result is lost
      c.stats.handled++;
      s = decideSettlement(result, deliveryCount, c.spec, log);
    }
    this.#apply(c, e, s, log);
    c.running--;
    this.schedule();
    this.notify();
  }

  #apply(c: Consumer, e: Entry, s: Settlement, log: Logger): void {
    const now = this.#state.clock.now();
    switch (s.kind) {
      case "ack":
        e.state = "acked";
        c.stats.acked++;
        return;
      case "nak":
        e.state = "ready";
        e.dueAt = now + s.delayMs;
        c.stats.nakd++;
        return;
      case "release":
        e.state = "ready";
        e.dueAt = now;
        c.stats.released++;
        return;
      case "dead-letter": {
        const { spec } = c;
        if (spec.dlq === undefined) {
          log.error({ reason: s.reason }, "message terminated (route has no DLQ)");
          e.state = "terminated";
        } else {
          const headers = entryDeadLetterHeaders(spec, e, s.reason, s.issues);
          // Stored like any publish: a route consuming the DLQ subject gets it too.
          void this.#store(spec.dlq, e.stored.data, headers).catch(() => {});
          log.warn({ reason: s.reason, dlq: spec.dlq }, "message dead-lettered");
          e.state = "dead-lettered";
        }
        c.stats.deadLettered++;
        return;
      }
      // Inbox verdicts: the memory broker has no inbox (withInbox runs on a real server only).
      case "skip":
        e.state = "acked";
        return;
    }
  }

  /**
   * The drain of `stop()`: releases messages delivered but not started, waits for running
   * handlers (`shutdownMs`, then their signal aborts, then they are abandoned).
   */
  async drain(shutdownMs: number): Promise<void> {
    const { consumers } = this.#state;
    for (const c of consumers.values()) {
      for (const e of c.entries) {
        if (e.state !== "held") continue;
        // A bare nak: back at once, its delivery already counted (as the engine's release).
        e.state = "ready";
        e.dueAt = this.#state.clock.now();
        c.held--;
        c.stats.released++;
      }
    }
    const busy = () =>
      this.#state.coreRunning > 0 || [...consumers.values()].some((c) => c.running > 0);
    if (!(await this.#until(() => !busy(), shutdownMs))) {
      this.#state.grace.abort(
        new ErrShutdownTimeout(`handlers still running after ${shutdownMs} ms`),
      );
      if (!(await this.#until(() => !busy(), PULL.abandonAfterMs))) {
        for (const c of consumers.values()) {
          for (const e of c.entries) {
            if (e.state !== "running") continue;
            this.#giveUp(c, e);
            c.stats.abandoned++;
          }
        }
      }
    }
  }

  /** The deliveries of a crashed process: none will be settled. */
  giveUpDelivered(): void {
    for (const c of this.#state.consumers.values()) {
      for (const e of c.entries)
        if (e.state === "held" || e.state === "running") this.#giveUp(c, e);
    }
  }

  /** A delivery no one will settle: back after ack wait, on the clock. */
  #giveUp(c: Consumer, e: Entry): void {
    if (e.state === "held") c.held--;
    if (e.state === "running") c.running--;
    e.token++;
    e.state = "unacked";
    e.dueAt = this.#state.clock.now() + c.spec.ackWaitMs;
  }

  /** The next clock time something becomes deliverable, if anything unsettled is waiting. */
  nextDue(): number | undefined {
    if (this.#state.phase !== "running") return undefined;
    let next: number | undefined;
    for (const c of this.#state.consumers.values()) {
      for (const e of c.entries) {
        if (e.state !== "ready" && e.state !== "unacked") continue;
        if (next === undefined || e.dueAt < next) next = e.dueAt;
      }
    }
    return next;
  }

  /** Resolves when no handler runs and nothing is deliverable before the clock moves. */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.notify();
    });
  }

  #isIdle(): boolean {
    const { clock, consumers, phase } = this.#state;
    if (this.#pumpQueued || this.#state.coreRunning > 0) return false;
    const now = clock.now();
    for (const c of consumers.values()) {
      if (c.running > 0) return false;
      if (phase === "running" && c.entries.some((e) => e.state === "held" || isDue(e, now))) {
        return false;
      }
    }
    return true;
  }

  /** Wakes the waiters if idle; called whenever a handler finishes or the phase changes. */
  notify(): void {
    if (this.#waiters.length === 0 || !this.#isIdle()) return;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits (real time, at most `ms`) until `done()`, re-checking whenever a handler finishes. */
  async #until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(10, Math.max(0, deadline - Date.now())));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }
}
