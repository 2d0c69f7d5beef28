import { causeText } from "../errors/index.js";
import type { Producer, WindowItem } from "../producer/index.js";
import type { OutboxMetrics } from "./metrics.js";
import type { OutboxSettings } from "./options.js";
import type { SqlPool, SqlPoolClient } from "./types.js";

interface Row {
  id: string;
  subject: string;
  payload: Uint8Array;
  headers: Record<string, string | string[]> | null;
  attempts: number;
}

/** What one batch did. */
export interface BatchResult {
  /** Rows locked by the batch (a full batch means more are probably waiting). */
  readonly locked: number;
  readonly sent: number;
  readonly failed: number;
}

const MAX_ERROR_TEXT = 2_000;

/**
 * One relay batch, in one transaction: lock up to `batchSize` due rows (`FOR UPDATE SKIP
 * LOCKED`, so concurrent batches and relays get disjoint rows), publish them through the
 * producer with msgId = row id, mark the acknowledged ones sent and record the failures, commit.
 * The locks are what keep two relays from sending a row twice; a relay killed before COMMIT
 * loses its locks with its connection, and the rows it had published are stored once by
 * JetStream's duplicate window when the next relay republishes them.
 * After `stop` aborts, the batch takes no more rows into the publish: those it locked but did
 * not publish are released untouched at COMMIT.
 */
export class BatchRunner {
  readonly #select: string;
  readonly #markSent: string;
  readonly #markFailed: string;

  constructor(
    private readonly pool: SqlPool,
    private readonly producer: Producer,
    private readonly s: OutboxSettings,
    private readonly metrics: OutboxMetrics,
  ) {
    const t = s.table.sql;
    this.#select = `SELECT id, subject, payload, headers, attempts FROM ${t}
      WHERE sent_at IS NULL AND next_attempt_at <= now()
      ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED`;
    this.#markSent = `UPDATE ${t} SET sent_at = now(), last_attempt_at = now(),
      attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::text[])`;
    this.#markFailed = `UPDATE ${t} AS t SET attempts = t.attempts + 1, last_attempt_at = now(),
      last_error = f.error, next_attempt_at = now() + f.delay_ms * interval '1 millisecond'
      FROM unnest($1::text[], $2::text[], $3::float8[]) AS f(id, error, delay_ms)
      WHERE t.id = f.id`;
  }

  /** Runs one batch; throws the database's error (the transaction is then rolled back). */
  async run(stop: AbortSignal): Promise<BatchResult> {
    const client = await this.pool.connect();
    // A checked-out pg client that loses its connection emits "error": without a listener
    // that would crash the process. The failed query rejects too, which is what we act on.
    const onError = () => {};
    client.on("error", onError);
    let broken: Error | undefined;
    try {
      return await this.#inTransaction(client, stop);
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.removeListener("error", onError);
      // A client whose transaction failed is destroyed, not reused mid-transaction.
      client.release(broken ?? false);
    }
  }

  async #inTransaction(client: SqlPoolClient, stop: AbortSignal): Promise<BatchResult> {
    await client.query("BEGIN");
    const { rows } = (await client.query(this.#select, [this.s.batchSize])) as { rows: Row[] };
    if (rows.length === 0) {
      await client.query("COMMIT");
      return { locked: 0, sent: 0, failed: 0 };
    }
    let taken = 0;
    function* items(): Generator<WindowItem> {
      for (const row of rows) {
        if (stop.aborted) return;
        taken++;
        yield {
          subject: row.subject,
          payload: row.payload,
          options:
            row.headers === null
              ? { msgId: row.id }
              : { msgId: row.id, headers: row.headers as Record<string, string | string[]> },
        };
      }
    }
    const result = await this.producer.publishWindowed(items(), { window: rows.length });
    const failedIds: string[] = [];
    const errors: string[] = [];
    const delays: number[] = [];
    const failedAt = new Set<number>();
    for (const { index, error } of result.failed) {
      const row = rows[index] as Row;
      failedAt.add(index);
      failedIds.push(row.id);
      errors.push(causeText(error).slice(0, MAX_ERROR_TEXT));
      delays.push(this.#delay(row.attempts));
    }
    const sentIds: string[] = [];
    for (let i = 0; i < taken; i++) if (!failedAt.has(i)) sentIds.push((rows[i] as Row).id);
    if (sentIds.length > 0) await client.query(this.#markSent, [sentIds]);
    if (failedIds.length > 0) await client.query(this.#markFailed, [failedIds, errors, delays]);
    await client.query("COMMIT");
    this.metrics.published(sentIds.length);
    if (failedIds.length > 0) {
      this.metrics.failed("publish", failedIds.length);
      this.s.logger.warn(
        { failed: failedIds.length, sent: sentIds.length, err: result.failed[0]?.error },
        "outbox rows failed to publish; retrying with backoff",
      );
    }
    return { locked: rows.length, sent: sentIds.length, failed: failedIds.length };
  }

  /** Backoff before the next try of a row that has failed `attempts` times before this one. */
  #delay(attempts: number): number {
    const { backoffInitialMs: initial, backoffMaxMs: max } = this.s;
    return Math.min(max, initial * 2 ** Math.min(attempts, 30));
  }
}
