import { randomUUID } from "node:crypto";
import {
  describeValue,
  ErrInvalidOption,
  ErrOutboxEnqueueFailed,
  ErrOutboxTableMissing,
  invalidValueMessage,
  type JetrouteError,
} from "../errors/index.js";
import { toMsgHdrs } from "../producer/headers.js";
import { validatePublishSubject } from "../subject/index.js";
import type { OutboxSettings } from "./options.js";
import type { EnqueueResult, OutboxEvent, SqlQueryable } from "./types.js";

/** PostgreSQL's SQLSTATEs for a missing table / column: the migration has not run. */
export const UNDEFINED_TABLE = "42P01";
export const UNDEFINED_COLUMN = "42703";

/** Builds `enqueue` for one outbox: validates the event, then one INSERT on the caller's client. */
export function enqueuer(s: OutboxSettings) {
  const sql = `INSERT INTO ${s.table.sql} (id, subject, payload, headers) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`;
  return async (client: SqlQueryable, event: OutboxEvent): Promise<EnqueueResult> => {
    if (typeof (client as SqlQueryable | null)?.query !== "function") {
      throw new ErrInvalidOption(
        invalidValueMessage(
          "enqueue client",
          client,
          "a pg Client or PoolClient in your transaction",
        ),
      );
    }
    if (typeof event !== "object" || event === null) {
      throw new ErrInvalidOption(
        invalidValueMessage("enqueue event", event, "{ id?, subject, payload, headers? }"),
      );
    }
    const id = event.id ?? randomUUID();
    checkId(id);
    validatePublishSubject(event.subject, "enqueue event.subject");
    // Refused here, inside the caller's transaction, rather than by the relay forever after.
    toMsgHdrs(event.headers as Record<string, string | readonly string[]> | undefined, true);
    checkHeaderValues(event.headers);
    const payload =
      event.payload instanceof Uint8Array ? event.payload : s.codec.encode(event.payload);
    const headers = event.headers === undefined ? null : JSON.stringify(event.headers);
    let rowCount: number | null;
    try {
      ({ rowCount } = await client.query(sql, [id, event.subject, payload, headers]));
    } catch (err) {
      const missing = tableMissing(err, s.table.name);
      if (missing !== undefined) throw missing;
      throw new ErrOutboxEnqueueFailed(
        `inserting event ${describeValue(id)} into ${s.table.name} failed: ${err instanceof Error ? err.message : describeValue(err)}`,
        { cause: err },
      );
    }
    return { id, duplicate: rowCount === 0 };
  };
}

/**
 * The id travels as the `Nats-Msg-Id` header, whose value NATS trims and may not hold control
 * characters: `"a "` would be stored as `"a"` (a duplicate of another row, marked sent but never
 * delivered) and `"a\n"` could never be published. Refused at enqueue, in the caller's
 * transaction.
 */
function checkId(id: unknown): void {
  const ok =
    typeof id === "string" &&
    id.length > 0 &&
    id.length <= MAX_ID_CHARS &&
    id === id.trim() &&
    !CONTROL.test(id);
  if (ok) return;
  throw new ErrInvalidOption(
    invalidValueMessage(
      "enqueue event.id",
      id,
      `1 to ${MAX_ID_CHARS} characters with no control characters and no leading or trailing spaces (it is the Nats-Msg-Id header, which NATS trims)`,
    ),
  );
}

/** Header values NATS would trim on the way: the consumer would not see what was enqueued. */
function checkHeaderValues(headers: unknown): void {
  if (typeof headers !== "object" || headers === null) return;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === "string" && v !== v.trim()) {
        throw new ErrInvalidOption(
          invalidValueMessage(
            `enqueue event.headers.${name}`,
            v,
            "a value with no leading or trailing spaces (NATS trims header values)",
          ),
        );
      }
    }
  }
}

/** The outbox's id column takes up to this many characters: an envelope's event id fits. */
const MAX_ID_CHARS = 256;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * ErrOutboxTableMissing for a driver error saying the table or a column does not exist (the
 * migration has not run), naming the fix; undefined for any other error.
 */
export function tableMissing(err: unknown, table: string): JetrouteError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code !== UNDEFINED_TABLE && code !== UNDEFINED_COLUMN) return undefined;
  return new ErrOutboxTableMissing(
    `outbox table ${table} is missing or incomplete; run migrateOutbox(pool, { table: ${describeValue(table)} }) first`,
    { cause: err },
  );
}
