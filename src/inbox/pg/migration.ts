import { ErrInvalidOption, invalidValueMessage } from "../../errors/index.js";
import { DEFAULT_INBOX_TABLE, type InboxTable, inboxTable, type PgQueryable } from "./sql.js";

/** Options of {@link migrateInbox}. */
export interface InboxMigrationOptions {
  /**
   * The table (`name` or `schema.name`; the schema must exist).
   * @default "jetroute_inbox"
   */
  readonly table?: string;
}

/**
 * The migration's statements for `table`: idempotent, so it may run at every start. The
 * advisory lock serializes migrations started at once (two concurrent `CREATE TABLE IF NOT
 * EXISTS` can both miss the table and one then fails on PostgreSQL's catalog).
 */
export function inboxMigrationSql(table: InboxTable): string {
  const lock = `jetroute:inbox:${table.name}`;
  return `SELECT pg_advisory_xact_lock(hashtext('${lock}'));
CREATE TABLE IF NOT EXISTS ${table.sql} (
  consumer text NOT NULL,
  message_key text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_key)
);
CREATE INDEX IF NOT EXISTS ${table.indexSql} ON ${table.sql} (processed_at);`;
}

/**
 * Creates the PostgreSQL inbox table when missing: one row per processed message key, keyed by
 * `(consumer, message_key)` (consumer = `<stream>/<durable>`), with `processed_at` for
 * {@link PgInbox.purge}. Idempotent (`IF NOT EXISTS`); run it at deploy or at every start.
 * @param db a `pg.Pool` or a connected `pg.Client`
 * @throws ErrInvalidOption for a bad table name; the driver's error when PostgreSQL refuses
 * @example await migrateInbox(pool); // then withInbox(pgInbox(pool))
 */
export async function migrateInbox(
  db: PgQueryable,
  options: InboxMigrationOptions = {},
): Promise<void> {
  if (typeof db?.query !== "function") {
    throw new ErrInvalidOption(invalidValueMessage("migrateInbox db", db, "a pg Pool or Client"));
  }
  const table = inboxTable(options.table ?? DEFAULT_INBOX_TABLE, "migrateInbox table");
  // Two statements in one simple query: PostgreSQL runs them in one implicit transaction.
  await db.query(inboxMigrationSql(table));
}
