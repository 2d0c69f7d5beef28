import { setTimeout as sleep } from "node:timers/promises";
import type { Connection } from "../conn/types.js";
import { ErrInboxStoreFailed, ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { Context, JetStreamRouteSpec, Message } from "../router/types.js";
import type { HandlerResult } from "../runtime/index.js";
import { defaultInboxKey } from "./key.js";
import type { InboxCounter } from "./stats.js";
import { attachTransaction } from "./transaction.js";
import type { InboxSession, InboxSpec } from "./types.js";

/** What the inbox made of one delivery; the engine settles it. */
export type Gated =
  /** The handler ran; settle its result as usual. */
  | { readonly kind: "ran"; readonly result: HandlerResult }
  /** Processed before: ack without running. */
  | { readonly kind: "duplicate" }
  /** The key function failed: a handler failure (the route's error policy applies). */
  | { readonly kind: "bad-key"; readonly error: unknown }
  /**
   * The store failed after the handler ran: its effect was not committed (ErrInboxStoreFailed).
   * Nak with backoff, like `retry()`.
   */
  | { readonly kind: "store-failed"; readonly error: unknown };

/**
 * A route run's inbox: computes each message's key, runs the handler through the store's
 * session, counts what happened and logs what needs a human. Used by the JetStream engine.
 */
export class InboxGate {
  readonly #spec: JetStreamRouteSpec;
  readonly #inbox: InboxSpec;
  readonly #counter: InboxCounter;
  readonly #log: Logger;
  #session: InboxSession<unknown> | undefined;

  constructor(spec: JetStreamRouteSpec, inbox: InboxSpec, counter: InboxCounter, log: Logger) {
    this.#spec = spec;
    this.#inbox = inbox;
    this.#counter = counter;
    this.#log = log;
  }

  /** Opens the store for this run (creates or checks its bucket or table); rejects with its error. */
  async open(conn: Connection, signal: AbortSignal): Promise<void> {
    this.#session = await this.#inbox.store.open({
      conn,
      stream: this.#spec.stream,
      durable: this.#spec.durable,
      logger: this.#log,
      signal,
    });
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.close().catch((err: unknown) => {
      this.#log.warn({ err }, "inbox store did not close cleanly");
    });
  }

  /**
   * Runs `handle` at most once for the message's key. `handle` gets `ctx` with the store's
   * transaction attached (when it has one) and never rejects.
   */
  async run(
    msg: Message,
    ctx: Context,
    log: Logger,
    handle: (ctx: Context) => Promise<HandlerResult>,
  ): Promise<Gated> {
    const session = this.#session;
    if (session === undefined) {
      return { kind: "store-failed", error: new ErrInboxStoreFailed("inbox store is not open") };
    }
    let key: string;
    try {
      key = this.#keyOf(msg);
    } catch (error) {
      return { kind: "bad-key", error };
    }
    // Waiting here holds the message (the engine's in-progress acks keep it ours): a busy key or
    // an unreachable store must not use up deliveries, or a store outage longer than the
    // route's retries would dead-letter every message the handler never saw.
    let waitedBusy = false;
    let outage: Outage | undefined;
    for (;;) {
      let result: HandlerResult | undefined;
      try {
        const verdict = await session.process(key, async (tx) => {
          result = await handle(tx === undefined ? ctx : attachTransaction(ctx, tx));
          return succeeded(result);
        });
        if (outage !== undefined) {
          log.warn({ key, waitedMs: Date.now() - outage.since }, "inbox store answers again");
        }
        switch (verdict.kind) {
          case "duplicate":
            this.#counter.duplicates++;
            log.debug({ key }, "inbox: processed before; acked without running the handler");
            return verdict;
          case "busy":
            if (!waitedBusy) {
              this.#counter.busy++;
              log.debug(
                { key, retryInMs: verdict.retryInMs },
                "inbox: key claimed by another consumer; waiting",
              );
              waitedBusy = true;
            }
            if (!(await pause(Math.min(verdict.retryInMs, BUSY_POLL_MS), ctx.signal))) {
              return interrupted(ctx.signal);
            }
            continue;
          case "processed":
            this.#processed(verdict, key, log);
            // `process` resolved "processed" only after the work ran, so `result` is set.
            return { kind: "ran", result: result as HandlerResult };
        }
      } catch (error) {
        this.#counter.storeErrors++;
        if (result !== undefined) {
          // The handler ran and its effect was not committed: a failed attempt, retried.
          log.error(
            { err: error, key },
            "inbox store failed; the handler's effect was not committed",
          );
          return { kind: "store-failed", error };
        }
        outage ??= { since: Date.now(), delayMs: STORE_RETRY_MIN_MS };
        if (outage.delayMs === STORE_RETRY_MIN_MS) {
          log.error(
            { err: error, key },
            "inbox store failed; waiting for it before running the handler",
          );
        }
        if (!(await pause(outage.delayMs, ctx.signal))) return interrupted(ctx.signal);
        outage.delayMs = Math.min(outage.delayMs * 2, STORE_RETRY_MAX_MS);
      }
    }
  }

  #processed(
    v: { takenOver: boolean; leaseLost: boolean; recordError: unknown },
    key: string,
    log: Logger,
  ): void {
    if (v.takenOver) {
      this.#counter.takenOver++;
      log.warn({ key }, "inbox: took over a claim whose lease had expired (its holder crashed?)");
    }
    if (v.leaseLost) {
      this.#counter.leaseLost++;
      log.error(
        { key },
        "inbox: the handler finished after its claim was taken over; its effect may have run twice (handler stalled past the lease)",
      );
    }
    if (v.recordError !== undefined) {
      this.#counter.storeErrors++;
      log.warn(
        { err: v.recordError, key },
        "inbox could not record the result; the claim expires after its lease",
      );
    }
  }

  #keyOf(msg: Message): string {
    const fn = this.#inbox.key;
    const key = fn === undefined ? defaultInboxKey(msg, this.#spec.stream) : fn(msg);
    if (typeof key === "string" && key !== "") return key;
    throw new ErrInvalidOption(
      invalidValueMessage("withInbox key result", key, "a non-empty string", this.#spec.name),
    );
  }
}

/** How often a delivery whose key another consumer holds asks again, at most (ms). */
const BUSY_POLL_MS = 1_000;
/** Retry delays while the store does not answer (ms): doubling from the first to the last. */
const STORE_RETRY_MIN_MS = 250;
const STORE_RETRY_MAX_MS = 10_000;

interface Outage {
  readonly since: number;
  delayMs: number;
}

/** Waits `ms`; false when `signal` aborted first (the shutdown grace ended). */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** The shutdown ended the wait: handed back unprocessed (a release), like an interrupted handler. */
function interrupted(signal: AbortSignal): Gated {
  return { kind: "ran", result: { kind: "interrupted", reason: signal.reason } };
}

/** Only a handler that succeeded is recorded; a retry, reject, throw or interruption is not. */
function succeeded(result: HandlerResult): boolean {
  return result.kind === "value" || (result.kind === "outcome" && result.outcome.kind === "ack");
}
