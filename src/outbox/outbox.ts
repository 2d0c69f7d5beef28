import { type Duration, toTimerMillis } from "../duration/index.js";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import type { Producer } from "../producer/index.js";
import { enqueuer } from "./enqueue.js";
import { NO_METRICS, outboxMetrics } from "./metrics.js";
import { type OutboxOption, resolveOutboxSettings } from "./options.js";
import { runRelay } from "./relay.js";
import type { Outbox, OutboxLag, OutboxPurgeOptions, RelayOptions, SqlPool } from "./types.js";

/**
 * A transactional outbox: `enqueue` writes events into a PostgreSQL table inside your own
 * transaction, and `relay` publishes them to JetStream through `producer` (its retries, tracing
 * and metrics apply) with msgId = event id. Run `migrateOutbox(pool)` once before. Options are
 * validated here, once.
 * @param pool a `pg.Pool`: the relay takes one connection per concurrent batch, plus one to LISTEN
 * @param producer from `createProducer(conn, ...)`
 * @throws ErrInvalidOption / ErrInvalidDuration / ErrInvalidBackoff for a bad pool, producer or option
 * @example
 * await migrateOutbox(pool);
 * const outbox = createOutbox(pool, createProducer(conn));
 * const relaying = outbox.relay({ signal: shutdown.signal });
 * await db.query("BEGIN");
 * await db.query("INSERT INTO orders ...");
 * await outbox.enqueue(db, { id: order.id, subject: "orders.created", payload: order });
 * await db.query("COMMIT"); // published once committed, whatever NATS is doing right now
 */
export function createOutbox(
  pool: SqlPool,
  producer: Producer,
  ...options: OutboxOption[]
): Outbox {
  const p = pool as Partial<SqlPool> | null;
  if (
    typeof p !== "object" ||
    p === null ||
    typeof p.query !== "function" ||
    typeof p.connect !== "function"
  ) {
    throw new ErrInvalidOption(invalidValueMessage("createOutbox pool", pool, "a pg Pool"));
  }
  const pr = producer as Partial<Producer> | null;
  if (typeof pr !== "object" || pr === null || typeof pr.publishWindowed !== "function") {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "createOutbox producer",
        producer,
        "a Producer from createProducer(conn)",
      ),
    );
  }
  const s = resolveOutboxSettings(options);
  const t = s.table.sql;
  const lagSql = `SELECT count(*)::float8 AS pending,
      coalesce(extract(epoch FROM now() - min(created_at)) * 1000, 0)::float8 AS oldest_ms,
      count(*) FILTER (WHERE attempts > 0)::float8 AS failing
    FROM ${t} WHERE sent_at IS NULL`;
  const lag = async (): Promise<OutboxLag> => {
    const { rows } = await pool.query(lagSql);
    const r = rows[0] as { pending: number; oldest_ms: number; failing: number };
    return { pending: r.pending, oldestPendingMs: Math.max(0, r.oldest_ms), failing: r.failing };
  };
  const metrics = s.registry ? outboxMetrics(s.registry, { table: s.table.name, lag }) : NO_METRICS;
  const enqueue = enqueuer(s);
  return Object.freeze({
    table: s.table.name,
    enqueue,
    relay: (relayOptions: RelayOptions) => runRelay(pool, producer, s, metrics, relayOptions),
    lag,
    async purge(purgeOptions: OutboxPurgeOptions): Promise<number> {
      const before = (purgeOptions as OutboxPurgeOptions | undefined)?.sentBefore;
      if (before === undefined) {
        throw new ErrInvalidOption(
          invalidValueMessage("purge sentBefore", before, 'a duration such as "24h"'),
        );
      }
      const ms = toTimerMillis(before as Duration, "purge sentBefore");
      const { rowCount } = await pool.query(
        `DELETE FROM ${t} WHERE sent_at IS NOT NULL AND sent_at < now() - $1 * interval '1 millisecond'`,
        [ms],
      );
      return rowCount ?? 0;
    },
  });
}
