import { doublingDelay } from "../duration/index.js";
import { causeText, ErrorCode, isJetrouteError } from "../errors/index.js";
import type { Producer, WindowItem } from "../producer/index.js";
import type { OutboxMetrics } from "./metrics.js";
import type { OutboxSettings } from "./options.js";
import type { SqlPool, SqlPoolClient } from "./types.js";

interface Row {
  id: string;
  subject: string;
  payload: Uint8Array;
  headers: Record<string, string | string[]> | null;
  /** Attempts including this one (the claim counted it). */
  attempts: number;
  /** The row's `last_error` and `last_attempt_at` before the claim, to release it untouched. */
  prev_error: string | null;
  prev_attempt_at: string | null;
}

/** What one batch did. */
export interface BatchResult {
  /** Rows locked by the batch (a full batch means more are probably waiting). */
  readonly locked: number;
  readonly sent: number;
  readonly failed: number;
  /** A row failed because the producer's connection is closed: no later batch can publish. */
  readonly connectionClosed: boolean;
}

const MAX_ERROR_TEXT = 2_000;

/**
 * Starts a batch's transaction, in the same round trip as BEGIN. Without statistics that match
 * the table (a fresh or truncated table, a burst of inserts since the last ANALYZE) the planner
 * may read every pending row through a bitmap scan and sort them to take the first `batchSize`:
 * each batch then costs as much as the whole backlog, just when the relay is catching up. With
 * bitmap and sequential scans off for this transaction only, it walks the pending index in
 * order and stops after `batchSize` rows, whatever the statistics say. ISO dates make the text
 * form of `last_attempt_at`, kept to release untaken rows, read back exactly whatever the
 * session's DateStyle.
 */
const BEGIN_BATCH =
  "BEGIN; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; SET LOCAL datestyle = 'ISO'";

/**
 * One relay batch, in one transaction: claim up to `batchSize` due rows, publish them through
 * the producer with msgId = row id, put the failed ones back with their error and backoff,
 * commit.
 * The claim is one statement: it locks the rows (`FOR UPDATE SKIP LOCKED`, so concurrent
 * batches and relays get disjoint rows) and marks them sent at once, uncommitted. Publishing
 * mostly succeeds, so the common batch is three statements (BEGIN, claim, COMMIT) and one
 * write per row; only failed or untaken rows are written again. The locks are what keep two
 * relays from sending a row twice; a relay killed before COMMIT loses its locks and its marks
 * with its connection, and the rows it had published are stored once by JetStream's duplicate
 * window when the next relay republishes them.
 * After `stop` aborts, the batch takes no more rows into the publish: those it claimed but did
 * not publish are restored to what they were (no attempt charged) before COMMIT.
 */
export class BatchRunner {
  readonly #claim: string;
  readonly #markFailed: string;
  readonly #release: string;

  constructor(
    private readonly pool: SqlPool,
    private readonly producer: Producer,
    private readonly s: OutboxSettings,
    private readonly metrics: OutboxMetrics,
  ) {
    const t = s.table.sql;
    // `id = ANY(ARRAY(...))` keeps the update on the primary key whatever the table's size and
    // statistics (a join with the locked rows may be planned as a scan of the whole table).
    // The old error and attempt time come from the lock step: RETURNING sees only new values.
    this.#claim = `WITH claimed AS (
        SELECT id, last_error, last_attempt_at FROM ${t}
        WHERE sent_at IS NULL AND next_attempt_at <= now()
        ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED),
      marked AS (
        UPDATE ${t} SET sent_at = now(), last_attempt_at = now(), attempts = attempts + 1,
          last_error = NULL
        WHERE id = ANY(ARRAY(SELECT id FROM claimed))
        RETURNING position, id, subject, payload, headers, attempts)
      SELECT m.id, m.subject, m.payload, m.headers, m.attempts, c.last_error AS prev_error,
        c.last_attempt_at::text AS prev_attempt_at
      FROM marked m JOIN claimed c USING (id) ORDER BY m.position`;
    this.#markFailed = `UPDATE ${t} AS t SET sent_at = NULL, last_error = f.error,
      next_attempt_at = now() + f.delay_ms * interval '1 millisecond'
      FROM unnest($1::text[], $2::text[], $3::float8[]) AS f(id, error, delay_ms)
      WHERE t.id = f.id`;
    // The text form of a timestamptz reads back exactly within the transaction (ISO dates).
    this.#release = `UPDATE ${t} AS t SET sent_at = NULL, attempts = t.attempts - 1,
      last_error = r.error, last_attempt_at = r.attempt_at::timestamptz
      FROM unnest($1::text[], $2::text[], $3::text[]) AS r(id, error, attempt_at)
      WHERE t.id = r.id`;
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
    await client.query(BEGIN_BATCH);
    const { rows } = (await client.query(this.#claim, [this.s.batchSize])) as { rows: Row[] };
    if (rows.length === 0) {
      await client.query("COMMIT");
      return { locked: 0, sent: 0, failed: 0, connectionClosed: false };
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
    const failed = result.failed.length;
    if (failed > 0) {
      const ids: string[] = [];
      const errors: string[] = [];
      const delays: number[] = [];
      for (const { index, error } of result.failed) {
        const row = rows[index] as Row;
        ids.push(row.id);
        errors.push(causeText(error).slice(0, MAX_ERROR_TEXT));
        delays.push(this.#delay(row.attempts - 1));
      }
      await client.query(this.#markFailed, [ids, errors, delays]);
    }
    if (taken < rows.length) {
      const untaken = rows.slice(taken);
      await client.query(this.#release, [
        untaken.map((r) => r.id),
        untaken.map((r) => r.prev_error),
        untaken.map((r) => r.prev_attempt_at),
      ]);
    }
    await client.query("COMMIT");
    const sent = taken - failed;
    this.metrics.published(sent);
    if (failed > 0) {
      this.metrics.failed("publish", failed);
      this.s.logger.warn(
        { failed, sent, err: result.failed[0]?.error },
        "outbox rows failed to publish; retrying with backoff",
      );
    }
    const connectionClosed = result.failed.some(({ error }) =>
      isJetrouteError(error, ErrorCode.ConnectionClosed),
    );
    return { locked: rows.length, sent, failed, connectionClosed };
  }

  /** Backoff before the next try of a row that has failed `attempts` times before this one. */
  #delay(attempts: number): number {
    return doublingDelay(this.s.backoffInitialMs, this.s.backoffMaxMs, attempts);
  }
}
