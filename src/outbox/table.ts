import { createHash } from "node:crypto";
import { parseTableName, quoteIdent } from "../sql/index.js";

/** The default outbox table. */
export const DEFAULT_OUTBOX_TABLE = "jetroute_outbox";

/** A validated table name, quoted for SQL, with the names of what the migration creates for it. */
export interface OutboxTable {
  /** As given: `jetroute_outbox` or `app.outbox`. */
  readonly name: string;
  /**
   * The LISTEN/NOTIFY channel: the name as given, or (over PostgreSQL's 63-byte identifier
   * limit, which NOTIFY enforces) its first 54 characters and 8 hex digits of its hash.
   */
  readonly channel: string;
  /** `"jetroute_outbox"` or `"app"."outbox"`. */
  readonly sql: string;
  /** The pending-rows index, the notify function and trigger, schema-qualified like the table. */
  readonly pendingIndex: string;
  readonly notifyFunction: string;
  readonly notifyTrigger: string;
  /** The channel quoted as an identifier, for LISTEN. */
  readonly channelSql: string;
}

/**
 * Parses `table` or `schema.table` (plain identifiers: letters, digits, `_`, up to 63 chars).
 * @throws ErrInvalidOption naming `option` for anything else
 */
export function outboxTable(name: unknown, option: string): OutboxTable {
  const { table, schemaSql, sql } = parseTableName(name, option, DEFAULT_OUTBOX_TABLE);
  const derived = (suffix: string) =>
    `${schemaSql}${quoteIdent(`${table.slice(0, 63 - suffix.length)}${suffix}`)}`;
  return Object.freeze({
    name: name as string,
    sql,
    pendingIndex: quoteIdent(`${table.slice(0, 55)}_pending`),
    notifyFunction: derived("_notify"),
    notifyTrigger: quoteIdent(`${table.slice(0, 56)}_notify`),
    channel: channelOf(name as string),
    channelSql: quoteIdent(channelOf(name as string)),
  });
}

function channelOf(name: string): string {
  if (name.length <= 63) return name;
  return `${name.slice(0, 54)}_${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}
