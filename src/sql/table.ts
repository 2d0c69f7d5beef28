import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A table name as given, checked, with its parts and its SQL form. */
export interface TableName {
  /** As given: `jetroute_outbox` or `app.outbox`. */
  readonly name: string;
  /** The table's own name, without its schema. */
  readonly table: string;
  /** `"app".` for a schema-qualified name, else "": what names made beside the table start with. */
  readonly schemaSql: string;
  /** `"jetroute_outbox"` or `"app"."outbox"`. */
  readonly sql: string;
}

/**
 * Parses `table` or `schema.table` (plain identifiers: letters, digits, `_`, up to 63 chars), so
 * the name can be spliced into SQL quoted and nothing else can.
 * @throws ErrInvalidOption naming `option`, with `example` as a valid name, for anything else
 */
export function parseTableName(name: unknown, option: string, example: string): TableName {
  const parts = typeof name === "string" ? name.split(".") : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        option,
        name,
        `a table name or schema.table of letters, digits and _ (up to 63 each), e.g. ${example}`,
      ),
    );
  }
  const table = parts.at(-1) as string;
  const schemaSql = parts.length === 2 ? `${quoteIdent(parts[0] as string)}.` : "";
  return { name: name as string, table, schemaSql, sql: `${schemaSql}${quoteIdent(table)}` };
}

/** An identifier already checked by {@link parseTableName} (or derived from one), quoted. */
export function quoteIdent(ident: string): string {
  return `"${ident}"`;
}
