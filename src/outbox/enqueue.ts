import { randomUUID } from "node:crypto";
import {
  describeValue,
  ErrInvalidOption,
  ErrOutboxEnqueueFailed,
  ErrOutboxTableMissing,
  invalidValueMessage,
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
    if (typeof id !== "string" || id.length === 0 || id.length > 255) {
      throw new ErrInvalidOption(
        invalidValueMessage("enqueue event.id", id, "a string of 1 to 255 characters"),
      );
    }
    validatePublishSubject(event.subject, "enqueue event.subject");
    // Refused here, inside the caller's transaction, rather than by the relay forever after.
    toMsgHdrs(event.headers as Record<string, string | readonly string[]> | undefined, true);
    const payload =
      event.payload instanceof Uint8Array ? event.payload : s.codec.encode(event.payload);
    const headers = event.headers === undefined ? null : JSON.stringify(event.headers);
    let rowCount: number | null;
    try {
      ({ rowCount } = await client.query(sql, [id, event.subject, payload, headers]));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === UNDEFINED_TABLE || code === UNDEFINED_COLUMN) {
        throw new ErrOutboxTableMissing(
          `outbox table ${s.table.name} is missing or incomplete; run migrateOutbox(pool, { table: ${describeValue(s.table.name)} }) first`,
          { cause: err },
        );
      }
      throw new ErrOutboxEnqueueFailed(
        `inserting event ${describeValue(id)} into ${s.table.name} failed: ${err instanceof Error ? err.message : describeValue(err)}`,
        { cause: err },
      );
    }
    return { id, duplicate: rowCount === 0 };
  };
}
