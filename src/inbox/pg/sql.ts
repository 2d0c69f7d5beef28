import { parseTableName, quoteIdent } from "../../sql/index.js";

/**
 * The slice of the `pg` driver the PostgreSQL inbox uses, as structural types: a `pg.Pool` and
 * its `pg.PoolClient` fit them (jetroute never imports `pg`; bring your own, >= 8).
 */
export interface PgInboxClient {
  query(text: string, values?: unknown[]): Promise<PgInboxResult>;
  /** Back to the pool; with an error (or true) the connection is closed instead. */
  release(err?: Error | boolean): void;
}

/** What a query returns (pg's `QueryResult`, narrowed). */
export interface PgInboxResult {
  readonly rowCount: number | null;
  /** The command tag: `COMMIT` has `ROLLBACK` here when the transaction had failed. */
  readonly command: string;
}

/**
 * A pool handing out `C` (pg's `Pool` gives `PoolClient`): the two shapes let TypeScript infer
 * `C` from pg's overloaded `connect`.
 */
export type PgInboxPool<C extends PgInboxClient> =
  | { connect(): Promise<C>; connect(callback: (...args: never[]) => void): void }
  | { connect(): Promise<C> };

/** Something that runs a query: a pool, or a connected client. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** The default inbox table. */
export const DEFAULT_INBOX_TABLE = "jetroute_inbox";

/** A validated table name, quoted for SQL, and its index's name. */
export interface InboxTable {
  /** As given: `jetroute_inbox` or `app.inbox`. */
  readonly name: string;
  /** `"jetroute_inbox"` or `"app"."inbox"`. */
  readonly sql: string;
  /** The processed_at index (in the table's schema). */
  readonly indexSql: string;
}

/**
 * Parses `table` or `schema.table` (plain identifiers: letters, digits, `_`, up to 63 chars).
 * @throws ErrInvalidOption naming `option` for anything else
 */
export function inboxTable(name: unknown, option: string): InboxTable {
  const { table, sql } = parseTableName(name, option, DEFAULT_INBOX_TABLE);
  return Object.freeze({
    name: name as string,
    sql,
    indexSql: quoteIdent(`${table.slice(0, 50)}_processed_at`),
  });
}
