import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { type Connection, connect, withReconnectWait, withServers } from "../../src/conn/index.js";
import {
  createOutbox,
  migrateOutbox,
  type Outbox,
  type OutboxOption,
  withOutboxTable,
  withRelayBackoff,
  withRelayPollInterval,
} from "../../src/outbox/index.js";
import {
  createProducer,
  type Producer,
  type ProducerOption,
  withPublishTimeout,
  withRetryBackoff,
} from "../../src/producer/index.js";
import { startPostgres, type TestPostgres, type TestServer } from "../../src/testing/index.js";
import { useServer } from "../helpers/index.js";

/** One nats-server, one PostgreSQL and a pool for a test file; all stopped after the file. */
export interface OutboxWorld {
  readonly nats: TestServer;
  readonly postgres: TestPostgres;
  readonly pool: pg.Pool;
  readonly conn: Connection;
  /** A fresh stream (file storage, so it survives a server restart) on `<subject>.>`, a fresh migrated table. */
  fresh(): Promise<{ stream: string; subject: string; table: string }>;
  /** A producer on the file's connection with short timeouts, so outages show quickly. */
  producer(...options: ProducerOption[]): Producer;
  /** An outbox on `table` with fast retries and polling. */
  outbox(table: string, producer?: Producer, ...options: OutboxOption[]): Outbox;
  /** Starts `outbox.relay`; stop() aborts it and waits. A test that fails first still gets it stopped. */
  run(outbox: Outbox): { readonly done: Promise<void>; stop(): Promise<void> };
}

export async function outboxWorld(): Promise<OutboxWorld> {
  const nats = await useServer();
  const postgres = await startPostgres();
  const pool = new pg.Pool({ connectionString: postgres.url, max: 30 });
  const conn = await connect(withServers(nats.url), withReconnectWait("100ms"));
  const relays = new Map<AbortController, Promise<void>>();
  // Relays first (they hold pooled connections), then the pool, then the server: idle clients
  // of a stopped server would emit errors.
  after(async () => {
    for (const r of relays.keys()) r.abort();
    await Promise.allSettled(relays.values());
    await conn.close();
    await pool.end();
    await postgres.stop();
  });
  let n = 0;
  const world: OutboxWorld = {
    nats,
    postgres,
    pool,
    conn,
    async fresh() {
      n++;
      const stream = `OUTBOX_${n}`;
      const subject = `outbox${n}`;
      const table = `outbox_${n}`;
      const jsm = await conn.jetstreamManager();
      await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: "file" });
      await migrateOutbox(pool, { table });
      return { stream, subject, table };
    },
    producer(...options) {
      return createProducer(
        conn,
        withPublishTimeout("1s"),
        withRetryBackoff("50ms", "200ms"),
        ...options,
      );
    },
    outbox(table, producer, ...options) {
      return createOutbox(
        pool,
        producer ?? world.producer(),
        withOutboxTable(table),
        withRelayBackoff("50ms", "500ms"),
        withRelayPollInterval("200ms"),
        ...options,
      );
    },
    run(outbox) {
      const controller = new AbortController();
      const done = outbox.relay({ signal: controller.signal });
      relays.set(controller, done);
      return {
        done,
        async stop() {
          controller.abort();
          await done;
        },
      };
    },
  };
  return world;
}

/** Runs `fn` in a transaction on a pooled client; rolls back when it throws or when asked. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  end: "COMMIT" | "ROLLBACK" = "COMMIT",
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query(end);
    return result;
  } catch (err) {
    await client.query("ROLLBACK");
    throw err;
  } finally {
    client.release();
  }
}

/** Every message in `stream`, in order: its Nats-Msg-Id and its payload as text. */
export async function streamMessages(
  conn: Connection,
  stream: string,
): Promise<Array<{ id: string | undefined; data: string; headers: Record<string, string> }>> {
  const jsm = await conn.jetstreamManager();
  const total = (await jsm.streams.info(stream)).state.messages;
  const out: Array<{ id: string | undefined; data: string; headers: Record<string, string> }> = [];
  if (total === 0) return out;
  const consumer = await conn.jetstream.consumers.get(stream);
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    const headers: Record<string, string> = {};
    for (const [k, v] of m.headers ?? []) headers[k] = v[0] ?? "";
    out.push({ id: m.headers?.get("Nats-Msg-Id"), data: m.string(), headers });
    if (out.length >= total) break;
  }
  await messages.close();
  return out;
}

/** Counts of the table's rows: all, sent, pending. */
export async function rowCounts(
  pool: pg.Pool,
  table: string,
): Promise<{ total: number; sent: number; pending: number }> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS total, count(sent_at)::int AS sent FROM ${table
      .split(".")
      .map((part) => `"${part}"`)
      .join(".")}`,
  );
  const r = rows[0] as { total: number; sent: number };
  return { ...r, pending: r.total - r.sent };
}

/** Polls until `condition` holds or `ms` pass; returns whether it held. */
export async function within(ms: number, condition: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(25);
  }
  return condition();
}
