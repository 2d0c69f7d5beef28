import { createHash } from "node:crypto";
import { type Duration, toMillis } from "../../duration/index.js";
import {
  ErrInboxNoTransaction,
  ErrInboxStoreConflict,
  ErrInboxStoreFailed,
  ErrInvalidOption,
  invalidValueMessage,
} from "../../errors/index.js";
import type { Context } from "../../router/types.js";
import { attachedTransaction } from "../transaction.js";
import type { InboxEnv, InboxSession, InboxStore, InboxVerdict, InboxWork } from "../types.js";
import {
  DEFAULT_INBOX_TABLE,
  type InboxTable,
  inboxTable,
  type PgInboxClient,
  type PgInboxPool,
} from "./sql.js";

/** Options of {@link pgInbox}. */
export interface PgInboxOptions {
  /**
   * The table made by {@link migrateInbox} (`name` or `schema.name`).
   * @default "jetroute_inbox"
   */
  readonly table?: string;
}

/** Options of {@link PgInbox.purge}. */
export interface PgInboxPurgeOptions {
  /** Delete rows processed more than this long ago (ms, or a duration such as `"72h"`). */
  readonly olderThan: Duration;
}

/** The PostgreSQL inbox store, whose handlers run inside its transaction. */
export interface PgInbox<C extends PgInboxClient> extends InboxStore<C> {
  /**
   * The handler's transaction: the pool client on which the inbox row was inserted, in an open
   * transaction. Run the handler's writes on it: they commit with the row when the handler
   * succeeds, and roll back with it when it fails. Do not COMMIT, ROLLBACK or release it.
   * @throws ErrInboxNoTransaction outside a handler of a route with this inbox, or after the
   * handler returned
   * @example await inbox.transaction(ctx).query("UPDATE accounts SET ...", [...]);
   */
  transaction(ctx: Context): C;
  /**
   * Deletes rows processed more than `olderThan` ago (of every consumer); returns how many.
   * A copy of such a message arriving later runs its handler again.
   */
  purge(options: PgInboxPurgeOptions): Promise<number>;
}

const PROCESSED: InboxVerdict = Object.freeze({
  kind: "processed",
  takenOver: false,
  leaseLost: false,
  recordError: undefined,
});

/** Keys longer than this are stored as their SHA-256 (btree entries have a size limit). */
const MAX_KEY = 512;

/**
 * The PostgreSQL inbox store: per message, a transaction that inserts the key's row
 * (`INSERT ... ON CONFLICT DO NOTHING`) and then runs the handler on the same connection
 * (`inbox.transaction(ctx)`); the handler's success commits its effect and the row together, a
 * failure rolls both back. A copy of the message processed at the same moment by another
 * consumer blocks on the uncommitted row, then finds it (duplicate, acked) or, after a
 * rollback, inserts it and runs. Needs the table of {@link migrateInbox}, and a pool of at
 * least the route's concurrency (each running handler holds a connection).
 * @throws ErrInvalidOption for a pool without `connect` or a bad table name
 * @example
 * await migrateInbox(pool);
 * const inbox = pgInbox(pool);
 * route("bill", async (msg, ctx) => {
 *   await inbox.transaction(ctx).query("INSERT INTO invoices ...", [...]);
 * }, withStream("ORDERS"), withSubject("orders.placed"), withInbox(inbox));
 */
export function pgInbox<C extends PgInboxClient>(
  pool: PgInboxPool<C>,
  options: PgInboxOptions = {},
): PgInbox<C> {
  if (typeof (pool as { connect?: unknown } | null)?.connect !== "function") {
    throw new ErrInvalidOption(invalidValueMessage("pgInbox pool", pool, "a pg Pool"));
  }
  if (typeof options !== "object" || options === null) {
    throw new ErrInvalidOption(invalidValueMessage("pgInbox options", options, "{ table }"));
  }
  for (const k of Object.keys(options)) {
    if (k === "table") continue;
    throw new ErrInvalidOption(invalidValueMessage(`pgInbox option "${k}"`, k, "table"));
  }
  const table = inboxTable(options.table ?? DEFAULT_INBOX_TABLE, "pgInbox table");
  const connect = () => (pool as { connect(): Promise<C> }).connect();
  // The clients of transactions open now: transaction(ctx) hands out only these.
  const open = new WeakSet<object>();
  return Object.freeze({
    kind: "postgres",
    open: async (env: InboxEnv): Promise<InboxSession<C>> => {
      await checkTable(connect, table);
      return new PgSession(connect, table, `${env.stream}/${env.durable}`, open);
    },
    transaction(ctx: Context): C {
      const tx = attachedTransaction(ctx);
      if (typeof tx === "object" && tx !== null && open.has(tx)) return tx as C;
      throw new ErrInboxNoTransaction(
        tx === undefined
          ? `no inbox transaction on route "${ctx?.route}": call inbox.transaction(ctx) in a handler of a route with withInbox(inbox)`
          : `the inbox transaction on route "${ctx?.route}" is not this inbox's, or has ended (use it only before the handler returns)`,
      );
    },
    async purge(o: PgInboxPurgeOptions): Promise<number> {
      const ms = toMillis(o?.olderThan, "pgInbox purge olderThan");
      const client = await connect();
      try {
        const r = await client.query(
          `DELETE FROM ${table.sql} WHERE processed_at < now() - make_interval(secs => $1)`,
          [ms / 1000],
        );
        client.release();
        return r.rowCount ?? 0;
      } catch (err) {
        client.release(true);
        throw err;
      }
    },
  });
}

/** The table must exist with the migration's columns: else the route fails at start. */
async function checkTable(connect: () => Promise<PgInboxClient>, table: InboxTable): Promise<void> {
  let client: PgInboxClient;
  try {
    client = await connect();
  } catch (err) {
    throw new ErrInboxStoreFailed("inbox could not connect to PostgreSQL", { cause: err });
  }
  try {
    await client.query(`SELECT consumer, message_key, processed_at FROM ${table.sql} LIMIT 0`);
    client.release();
  } catch (err) {
    client.release();
    const code = (err as { code?: unknown }).code;
    // 42P01 undefined_table, 42703 undefined_column, 3F000 invalid_schema_name
    if (code === "42P01" || code === "42703" || code === "3F000") {
      throw new ErrInboxStoreConflict(
        `inbox table ${table.name} is missing or not an inbox table: run migrateInbox(pool${table.name === DEFAULT_INBOX_TABLE ? "" : `, { table: "${table.name}" }`}) first`,
        { cause: err },
      );
    }
    throw new ErrInboxStoreFailed(`inbox could not read table ${table.name}`, { cause: err });
  }
}

class PgSession<C extends PgInboxClient> implements InboxSession<C> {
  readonly #connect: () => Promise<C>;
  readonly #table: InboxTable;
  readonly #consumer: string;
  readonly #open: WeakSet<object>;

  constructor(
    connect: () => Promise<C>,
    table: InboxTable,
    consumer: string,
    open: WeakSet<object>,
  ) {
    this.#connect = connect;
    this.#table = table;
    this.#consumer = consumer;
    this.#open = open;
  }

  async process(key: string, work: InboxWork<C>): Promise<InboxVerdict> {
    let client: C;
    try {
      client = await this.#connect();
    } catch (err) {
      throw new ErrInboxStoreFailed("inbox could not connect to PostgreSQL", { cause: err });
    }
    let ran = false;
    try {
      await client.query("BEGIN");
      const inserted = await client.query(
        `INSERT INTO ${this.#table.sql} (consumer, message_key) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [this.#consumer, storedKey(key)],
      );
      if (inserted.rowCount === 0) {
        await client.query("ROLLBACK");
        client.release();
        return { kind: "duplicate" };
      }
      ran = true;
      this.#open.add(client);
      let ok: boolean;
      try {
        ok = await work(client);
      } finally {
        this.#open.delete(client);
      }
      if (!ok) {
        // The handler's failure decides the settlement; a failed ROLLBACK only costs the connection.
        await client.query("ROLLBACK").then(
          () => client.release(),
          () => client.release(true),
        );
        return PROCESSED;
      }
      const committed = await client.query("COMMIT");
      // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error.
      if (committed.command !== "COMMIT") {
        client.release();
        throw new ErrInboxStoreFailed(
          "the handler's transaction had failed (a statement of it raised an error the handler caught): nothing was committed",
        );
      }
      client.release();
      return PROCESSED;
    } catch (err) {
      if (err instanceof ErrInboxStoreFailed) throw err;
      // The connection's state is unknown: close it rather than return it to the pool.
      client.release(true);
      throw new ErrInboxStoreFailed(
        ran
          ? "inbox could not commit the handler's transaction: its effect was rolled back"
          : "inbox could not insert the message's key",
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {}
}

/** The key as stored: as is up to {@link MAX_KEY} chars, else `=_` + its base64url SHA-256. */
function storedKey(key: string): string {
  return key.length <= MAX_KEY ? key : `=_${createHash("sha256").update(key).digest("base64url")}`;
}
