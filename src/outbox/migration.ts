import {
  describeValue,
  ErrInvalidOption,
  ErrOutboxMigrationFailed,
  invalidValueMessage,
} from "../errors/index.js";
import { DEFAULT_OUTBOX_TABLE, type OutboxTable, outboxTable } from "./table.js";
import type { SqlPool, SqlQueryable } from "./types.js";

/** Options of {@link migrateOutbox} and {@link outboxMigrationSql}. */
export interface OutboxMigrationOptions {
  /** `table` or `schema.table`. @default "jetroute_outbox" */
  readonly table?: string;
}

/** Serialises concurrent migrations (two services starting at once): any fixed 64-bit key. */
const MIGRATION_LOCK = 7_264_113_052_913;

/**
 * The outbox's schema, as SQL that may run any number of times (every statement is `IF NOT
 * EXISTS` or `OR REPLACE`). Use it with your own migration tool, or let {@link migrateOutbox}
 * run it. Columns: `position` (insertion order), `id` (event id = Nats-Msg-Id), `subject`,
 * `payload` (bytes), `headers` (jsonb), `created_at`, `next_attempt_at`, `attempts`,
 * `last_error`, `last_attempt_at`, `sent_at`. A statement-level
 * trigger NOTIFYs the channel named like the table on every insert, so relays wake at once.
 * Needs PostgreSQL 10 or later (identity columns).
 * @throws ErrInvalidOption for a bad table name
 * @example
 * writeFileSync("migrations/0042_outbox.sql", outboxMigrationSql());
 */
export function outboxMigrationSql(options: OutboxMigrationOptions = {}): string {
  return migrationStatements(tableOf(options, "outboxMigrationSql")).join(";\n\n").concat(";\n");
}

/**
 * Creates (or completes) the outbox table, its index and its notify trigger, in one
 * transaction under an advisory lock, so concurrent calls are safe. Idempotent.
 * @param db a `pg.Pool` (one connection is taken for the migration) or a connected `pg.Client`
 * @throws ErrInvalidOption for a bad table name or db
 * @throws ErrOutboxMigrationFailed when PostgreSQL refuses it (`cause`: the driver's error)
 * @example
 * await migrateOutbox(pool); // at service start, before createOutbox(pool, producer)
 */
export async function migrateOutbox(
  db: SqlPool | SqlQueryable,
  options: OutboxMigrationOptions = {},
): Promise<void> {
  const table = tableOf(options, "migrateOutbox");
  if (typeof (db as SqlQueryable | null)?.query !== "function") {
    throw new ErrInvalidOption(invalidValueMessage("migrateOutbox db", db, "a pg Pool or Client"));
  }
  const pooled = typeof (db as SqlPool).connect === "function";
  const client = pooled ? await (db as SqlPool).connect() : (db as SqlQueryable);
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      for (const statement of migrationStatements(table)) await client.query(statement);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch((e: Error) => {
        broken = e;
      });
      throw err;
    }
  } catch (err) {
    throw new ErrOutboxMigrationFailed(
      `migrating outbox table ${table.name} failed: ${err instanceof Error ? err.message : describeValue(err)}`,
      { cause: err },
    );
  } finally {
    if (pooled) (client as Awaited<ReturnType<SqlPool["connect"]>>).release(broken ?? false);
  }
}

function tableOf(options: OutboxMigrationOptions, fn: string): OutboxTable {
  if (typeof options !== "object" || options === null) {
    throw new ErrInvalidOption(invalidValueMessage(`${fn} options`, options, "{ table? }"));
  }
  return outboxTable(options.table ?? DEFAULT_OUTBOX_TABLE, `${fn} table`);
}

function migrationStatements(t: OutboxTable): string[] {
  const channel = t.channel.replaceAll("'", "''");
  return [
    `CREATE TABLE IF NOT EXISTS ${t.sql} (
  position        bigint GENERATED ALWAYS AS IDENTITY,
  id              text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 256),
  subject         text NOT NULL,
  payload         bytea NOT NULL,
  headers         jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  last_attempt_at timestamptz,
  sent_at         timestamptz
)`,
    // Relays scan only what is pending, in insertion order; sent rows cost the scan nothing.
    `CREATE INDEX IF NOT EXISTS ${t.pendingIndex} ON ${t.sql} (position) WHERE sent_at IS NULL`,
    `CREATE OR REPLACE FUNCTION ${t.notifyFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
  RETURN NULL;
END
$$`,
    // Per statement, not per row: a 1,000-row insert sends one notification (at commit only).
    `DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_trigger
    WHERE tgrelid = '${t.sql.replaceAll("'", "''")}'::regclass AND tgname = ${t.notifyTrigger.replaceAll('"', "'")}
  ) THEN
    CREATE TRIGGER ${t.notifyTrigger} AFTER INSERT ON ${t.sql}
      FOR EACH STATEMENT EXECUTE PROCEDURE ${t.notifyFunction}('${channel}');
  END IF;
END
$$`,
  ];
}
