import type { Connection } from "../conn/types.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import type { SchemaIssue } from "../schema/issues.js";
import { storeDeadLetter } from "./dead-letter.js";
import type { Inbound } from "./inbound.js";
import type { ReplayGuard } from "./replay-guard.js";
import { backoffDelay, type Settlement } from "./settle.js";
import type { StatsCounter } from "./stats.js";

/** What the settler needs from the engine. */
export interface SettlerDeps {
  readonly conn: Connection;
  readonly spec: JetStreamRouteSpec;
  readonly stats: StatsCounter;
  readonly guard: ReplayGuard;
  /** `term(reason)` only where the server honours it (>= 2.10.4); older ones ignore `+TERM <reason>` whole. */
  readonly termWithReason: boolean;
  readonly log: Logger;
  /** A dead letter that can never be stored: the route must stop (the message is not lost). */
  readonly fail: (err: unknown) => void;
}

/**
 * Applies settlements: the one place where a message is acked, nak'd, released or terminated.
 * Acks are batched per event-loop turn (nats.js writes what is queued when it flushes, so one
 * socket write carries every ack of the turn, not one syscall per message); `flush()` sends
 * what is left at shutdown.
 */
export class Settler {
  readonly #d: SettlerDeps;
  readonly #acks: Inbound[] = [];

  constructor(deps: SettlerDeps) {
    this.#d = deps;
  }

  /**
   * Applies `s`; a dead letter returns a promise that resolves once it is done (after the DLQ's
   * PubAck): true when the message was terminated, false when it was nak'd for a retry instead.
   */
  apply(m: Inbound, s: Settlement, log: Logger): Promise<boolean> | undefined {
    const { stats } = this.#d;
    switch (s.kind) {
      case "ack":
        this.ack(m);
        return undefined;
      case "nak":
        m.nak(s.delayMs);
        stats.nakd++;
        return undefined;
      case "release":
        this.release(m);
        return undefined;
      case "dead-letter":
        return this.#deadLetter(m, s.reason, s.issues, log);
      case "skip":
        // Settled for this route: acked (batched) and known to the replay guard, not `acked`.
        if (this.#acks.push(m) === 1) setImmediate(this.flush);
        this.#d.guard.add(m.seq);
        return undefined;
    }
  }

  ack(m: Inbound): void {
    if (this.#acks.push(m) === 1) setImmediate(this.flush);
    this.#d.stats.acked++;
    this.#d.guard.add(m.seq);
  }

  /** Hands a message back unprocessed: a bare nak, redelivered at once to whoever pulls next. */
  release(m: Inbound): void {
    m.nak();
    this.#d.stats.released++;
  }

  readonly flush = (): void => {
    for (const m of this.#acks.splice(0)) m.ack();
  };

  async #deadLetter(
    m: Inbound,
    reason: string,
    issues: readonly SchemaIssue[] | undefined,
    log: Logger,
  ): Promise<boolean> {
    const { spec, stats, conn } = this.#d;
    const source = {
      subject: m.msg.subject,
      data: m.msg.data,
      headers: m.msg.headers,
      stream: m.stream,
      seq: m.seq,
      deliveryCount: m.deliveryCount,
    };
    if (spec.dlq === undefined) {
      log.error({ reason }, "message terminated (route has no DLQ)");
    } else {
      const result = await storeDeadLetter(source, reason, { conn, spec, logger: log }, issues);
      if (result.kind !== "stored") {
        // Kept for redelivery: after a transient failure, or once a permanent one is fixed.
        const retryInMs = backoffDelay(spec, m.deliveryCount, log);
        m.nak(retryInMs);
        stats.nakd++;
        if (result.kind === "failed") {
          log.error({ reason, err: result.error, dlq: spec.dlq }, "dead letter cannot be stored");
          this.#d.fail(result.error);
        } else {
          log.error(
            { reason, err: result.error, dlq: spec.dlq, retryInMs },
            "dead-letter publish failed; message will be redelivered",
          );
        }
        return false;
      }
      log.warn({ reason, dlq: spec.dlq, truncated: result.truncated }, "message dead-lettered");
    }
    if (this.#d.termWithReason) m.term(reason);
    else m.term();
    stats.deadLettered++;
    this.#d.guard.add(m.seq);
    return true;
  }
}
