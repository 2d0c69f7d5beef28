import { createHash } from "node:crypto";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";

/** The default outbox table. */
export const DEFAULT_OUTBOX_TABLE = "jetroute_outbox";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

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
  const parts = typeof name === "string" ? name.split(".") : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        option,
        name,
        "a table name or schema.table of letters, digits and _ (up to 63 each), e.g. jetroute_outbox",
      ),
    );
  }
  const table = parts.at(-1) as string;
  const schema = parts.length === 2 ? `${quote(parts[0] as string)}.` : "";
  const derived = (suffix: string) =>
    `${schema}${quote(`${table.slice(0, 63 - suffix.length)}${suffix}`)}`;
  return Object.freeze({
    name: name as string,
    sql: `${schema}${quote(table)}`,
    pendingIndex: quote(`${table.slice(0, 55)}_pending`),
    notifyFunction: derived("_notify"),
    notifyTrigger: quote(`${table.slice(0, 56)}_notify`),
    channel: channelOf(name as string),
    channelSql: quote(channelOf(name as string)),
  });
}

function quote(ident: string): string {
  return `"${ident}"`;
}

function channelOf(name: string): string {
  if (name.length <= 63) return name;
  return `${name.slice(0, 54)}_${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}
