import type { Connection } from "../conn/types.js";
import type { Logger } from "../logger/index.js";
import type { Message } from "../router/types.js";

/**
 * What a store is given when a route with an inbox starts. Keys are per durable consumer: two
 * routes (durables) consuming the same event each run their handler once.
 */
export interface InboxEnv {
  /** The broker's connection. */
  readonly conn: Connection;
  /** The route's stream. */
  readonly stream: string;
  /** The route's durable consumer: with `stream`, the namespace of the keys. */
  readonly durable: string;
  /** The route's logger. */
  readonly logger: Logger;
  /** Aborted when the route stops. */
  readonly signal: AbortSignal;
}

/**
 * What {@link InboxSession.process} did with a key:
 * - `processed`: the work ran, and its result was recorded (success) or its claim given up
 *   (failure); `takenOver` when the key's claim had expired under another holder and was taken
 *   over; `leaseLost` when the work succeeded after its claim had been taken over by someone
 *   else (the effect may then run twice: see docs/inbox.md); `recordError` when recording the
 *   result or giving up the claim failed (the claim then expires after its lease).
 * - `duplicate`: the key is recorded as processed; the work did not run.
 * - `busy`: another consumer holds a live claim on the key; try again in `retryInMs` (ms).
 */
export type InboxVerdict =
  | {
      readonly kind: "processed";
      readonly takenOver: boolean;
      readonly leaseLost: boolean;
      readonly recordError: unknown;
    }
  | { readonly kind: "duplicate" }
  | { readonly kind: "busy"; readonly retryInMs: number };

/**
 * The handler's run inside a claim. `transaction` is the store's (the PostgreSQL client of the
 * open transaction; undefined for stores without one). Resolves true when the handler
 * succeeded (its result must be recorded), false when it failed, was rejected or retried
 * (the claim is given up so a redelivery can run it). Never rejects.
 */
export type InboxWork<Tx> = (transaction: Tx) => Promise<boolean>;

/** One route run's use of a store. */
export interface InboxSession<Tx> {
  /**
   * Runs `work` at most once for `key` (within the session's stream and durable).
   * @throws ErrInboxStoreFailed when the store could not claim the key (the work did not run)
   * or could not commit the work's result (its effect was rolled back).
   */
  process(key: string, work: InboxWork<Tx>): Promise<InboxVerdict>;
  /** Called when the route run ends, after its last `process` settled. */
  close(): Promise<void>;
}

/**
 * Where an inbox records the keys it processed: {@link kvInbox} (NATS KV) and {@link pgInbox}
 * (PostgreSQL) are jetroute's; another store implements this interface. `Tx` is what the
 * handler's transaction is (see {@link PgInbox.transaction}).
 */
export interface InboxStore<Tx = undefined> {
  /** For logs: `"nats-kv"`, `"postgres"`. */
  readonly kind: string;
  /**
   * Prepares the store for one route run (creates or checks its bucket or table).
   * @throws ErrInboxStoreConflict when the bucket or table cannot be used as it is
   */
  open(env: InboxEnv): Promise<InboxSession<Tx>>;
}

/**
 * The key of a message: header `Jetroute-Event-Id`, else `Nats-Msg-Id`, else
 * `<stream>:<sequence>` unless the route gives its own function. Must return a non-empty
 * string; a throw, or anything else, is a handler failure (the route's error policy applies).
 */
export type InboxKey = (msg: Message) => string;

/** Options of `withInbox`. */
export interface InboxOptions {
  /**
   * The message's key: messages with the same key run the handler once.
   * @default header `Jetroute-Event-Id`, else `Nats-Msg-Id`, else `<stream>:<sequence>`
   */
  readonly key?: InboxKey;
}

/** A validated inbox, as a JetStream route spec holds it. */
export interface InboxSpec {
  // The handler's transaction type is erased here: only PgInbox.transaction(ctx) reads it.
  readonly store: InboxStore<unknown>;
  readonly key: InboxKey | undefined;
}

/**
 * A JetStream route's inbox counters (in its stats as `inbox`; undefined without an inbox).
 * None of these deliveries counts in `handled`, `acked` or `nakd`: duplicates and busy
 * deliveries never ran the handler.
 */
export interface InboxStats {
  /** Deliveries whose key was recorded as processed: acked without running the handler. */
  readonly duplicates: number;
  /** Deliveries nak'd with a delay because another consumer held a live claim on their key. */
  readonly busy: number;
  /** Claims taken over after their lease expired (the holder crashed or stalled). */
  readonly takenOver: number;
  /**
   * Handlers that succeeded after their claim had been taken over by another consumer: the
   * message was acked, but its effect may have run twice (the holder stalled past its lease).
   */
  readonly leaseLost: number;
  /**
   * Store failures (claim, record or commit): each message was nak'd with the route's backoff
   * (dead-lettered on its final delivery), as `retry()` would.
   */
  readonly storeErrors: number;
}
