import type { Duration } from "../duration/index.js";

/**
 * The slice of the `pg` driver the outbox uses, as structural types: a `pg.Pool`, `pg.Client`
 * and `pg.PoolClient` fit them, and jetroute never imports `pg` itself (bring your own, >= 8).
 */
export interface SqlQueryable {
  query(text: string, values?: unknown[]): Promise<SqlResult>;
}

/** What a query returns (pg's `QueryResult`, narrowed). */
export interface SqlResult {
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the SELECT returns; each caller narrows them
  readonly rows: any[];
  readonly rowCount: number | null;
}

/** A connection taken from a pool (pg's `PoolClient`): queries, notifications, release. */
export interface SqlPoolClient extends SqlQueryable {
  release(err?: Error | boolean): void;
  /** "notification" (after LISTEN; the relay only needs to know one came) and "error". */
  on(event: "notification" | "error", listener: (arg: never) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: Node's EventEmitter signature, which pg's client has
  removeListener(event: "notification" | "error", listener: (...args: any[]) => void): unknown;
}

/** A connection pool (pg's `Pool`). The relay takes one connection per batch, plus one to LISTEN. */
export interface SqlPool extends SqlQueryable {
  connect(): Promise<SqlPoolClient>;
}

/**
 * One event to publish. An envelope maps onto it as `{ id: envelope.event_id, subject,
 * payload: <the encoded envelope>, headers: { "Jetroute-Event-Id": envelope.event_id } }`.
 */
export interface OutboxEvent {
  /**
   * The event id: the row's primary key and the JetStream message id (`Nats-Msg-Id`), so a
   * republished row is stored once. Up to 256 characters (an envelope's event id fits), no control characters, no leading or trailing spaces (NATS trims the `Nats-Msg-Id` header).
   * @default a random UUID
   */
  readonly id?: string;
  /** The subject to publish to (a concrete subject: no wildcards). */
  readonly subject: string;
  /** The payload: a `Uint8Array` is stored as is, anything else is encoded by the outbox's codec (JSON). */
  readonly payload: unknown;
  /** Headers to publish with the message. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
}

/** What `enqueue` did. */
export interface EnqueueResult {
  /** The event id (the one given, or the generated UUID). */
  readonly id: string;
  /** True when a row with this id was already in the table: nothing was inserted. */
  readonly duplicate: boolean;
}

/** How far behind the relays are, read from the table. */
export interface OutboxLag {
  /** Rows not yet marked sent. */
  readonly pending: number;
  /** Age of the oldest of them, ms (0 when none). */
  readonly oldestPendingMs: number;
  /** Pending rows whose last publish failed (attempts > 0). */
  readonly failing: number;
}

/** Options of `outbox.relay`. */
export interface RelayOptions {
  /**
   * Stops the relay: the batch in flight stops taking rows, its publishes settle and are marked,
   * the rest of its rows are released untouched, and `relay()` resolves. Required.
   */
  readonly signal: AbortSignal;
}

/** What `outbox.purge` deletes. */
export interface OutboxPurgeOptions {
  /** Delete rows marked sent more than this long ago: ms, or a duration such as `"24h"`. */
  readonly sentBefore: Duration;
}

/** A transactional outbox on one table; made by `createOutbox(pool, producer, ...options)`. */
export interface Outbox {
  /** The table's name, as given to `withOutboxTable` (default `jetroute_outbox`). */
  readonly table: string;
  /**
   * Inserts the event on `client`, inside the caller's open transaction: it is published only
   * if that transaction commits. A `pg.PoolClient` after `BEGIN`, or a `pg.Client`.
   * @throws ErrInvalidSubject, ErrInvalidOption (bad id, headers), ErrEncode (payload),
   *   ErrOutboxEnqueueFailed (the INSERT failed; `cause` is the driver's error)
   */
  enqueue(client: SqlQueryable, event: OutboxEvent): Promise<EnqueueResult>;
  /**
   * Publishes pending rows until `signal` aborts; resolves once the batch in flight is done.
   * Survives NATS and PostgreSQL outages (failures are recorded per row and retried with
   * backoff). Any number of relays may run at once, in one process or many.
   * @throws ErrInvalidOption without a signal; ErrOutboxTableMissing when the table is missing;
   *   ErrConnectionClosed once the producer's connection is closed (it never comes back)
   */
  relay(options: RelayOptions): Promise<void>;
  /** Pending rows and the age of the oldest (one query). */
  lag(): Promise<OutboxLag>;
  /** Deletes sent rows older than `sentBefore`; resolves with how many. */
  purge(options: OutboxPurgeOptions): Promise<number>;
}
