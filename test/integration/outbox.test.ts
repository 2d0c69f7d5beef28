import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Registry } from "prom-client";
import { connect, withServers } from "../../src/conn/index.js";
import {
  ErrConnectionClosed,
  ErrInvalidBackoff,
  ErrInvalidDuration,
  ErrInvalidOption,
  ErrInvalidSubject,
  ErrOutboxEnqueueFailed,
  ErrOutboxTableMissing,
  ErrorCode,
} from "../../src/errors/index.js";
import {
  createOutbox,
  migrateOutbox,
  OutboxMetricName,
  outboxMigrationSql,
  withOutboxMetrics,
  withOutboxTable,
  withRelayBackoff,
  withRelayBatchSize,
  withRelayConcurrency,
  withRelayPollInterval,
} from "../../src/outbox/index.js";
import {
  createProducer,
  type PublishEvent,
  withOnPublish,
  withPublishRetries,
} from "../../src/producer/index.js";
import { startTcpProxy } from "../../src/testing/index.js";
import { checkLeaksAfterAll, gate, until } from "../helpers/index.js";
import { inTransaction, outboxWorld, rowCounts, streamMessages, within } from "./outbox-support.js";

checkLeaksAfterAll();

const relayChild = fileURLToPath(new URL("./fixtures/outbox-relay-child.ts", import.meta.url));

/** Enqueues `count` events (ids `<prefix>-<i>`) in transactions of `perTx`. */
async function enqueueMany(
  world: Awaited<ReturnType<typeof outboxWorld>>,
  outbox: ReturnType<typeof createOutbox>,
  subject: string,
  prefix: string,
  count: number,
  perTx = 100,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += perTx) {
    await inTransaction(world.pool, async (client) => {
      for (let i = start; i < Math.min(count, start + perTx); i++) {
        const { id } = await outbox.enqueue(client, {
          id: `${prefix}-${i}`,
          subject: `${subject}.created`,
          payload: { n: i },
        });
        ids.push(id);
      }
    });
  }
  return ids;
}

describe("transactional outbox", async () => {
  const world = await outboxWorld();

  it("a rolled-back transaction leaves no event; a committed one gives exactly one message", async () => {
    const { stream, subject, table } = await world.fresh();
    const outbox = world.outbox(table);
    await inTransaction(
      world.pool,
      (c) => outbox.enqueue(c, { id: "rolled-back", subject: `${subject}.a`, payload: { a: 1 } }),
      "ROLLBACK",
    );
    const committed = await inTransaction(world.pool, (c) =>
      outbox.enqueue(c, {
        id: "committed",
        subject: `${subject}.b`,
        payload: { b: 2 },
        headers: { "X-Tenant": "acme" },
      }),
    );
    assert.deepEqual(committed, { id: "committed", duplicate: false });
    const relay = world.run(outbox);
    await until(async () => (await rowCounts(world.pool, table)).sent === 1);
    await relay.stop();
    // A second relay over the same table finds nothing left to send.
    const again = world.run(world.outbox(table));
    await again.stop();

    const messages = await streamMessages(world.conn, stream);
    assert.equal(messages.length, 1);
    assert.equal(messages[0]?.id, "committed");
    assert.deepEqual(JSON.parse(messages[0]?.data ?? ""), { b: 2 });
    assert.equal(messages[0]?.headers["X-Tenant"], "acme");
    assert.deepEqual(await rowCounts(world.pool, table), { total: 1, sent: 1, pending: 0 });
  });

  it("enqueueing an id already in the table inserts nothing and says duplicate", async () => {
    const { table, subject } = await world.fresh();
    const outbox = world.outbox(table);
    const event = { id: "same", subject: `${subject}.x`, payload: 1 };
    await inTransaction(world.pool, (c) => outbox.enqueue(c, event));
    const second = await inTransaction(world.pool, (c) => outbox.enqueue(c, event));
    assert.deepEqual(second, { id: "same", duplicate: true });
    assert.equal((await rowCounts(world.pool, table)).total, 1);
  });

  it("generates a UUID event id when none is given, used as the message id", async () => {
    const { stream, table, subject } = await world.fresh();
    const outbox = world.outbox(table);
    const { id } = await inTransaction(world.pool, (c) =>
      outbox.enqueue(c, { subject: `${subject}.x`, payload: new TextEncoder().encode("raw") }),
    );
    assert.match(id, /^[0-9a-f-]{36}$/);
    const relay = world.run(outbox);
    await until(async () => (await rowCounts(world.pool, table)).sent === 1);
    await relay.stop();
    const [message] = await streamMessages(world.conn, stream);
    assert.equal(message?.id, id);
    assert.equal(message?.data, "raw");
  });

  it("a commit wakes an idle relay through LISTEN/NOTIFY, long before its poll", async () => {
    const { table, subject } = await world.fresh();
    const outbox = world.outbox(table, undefined, withRelayPollInterval("1h"));
    const relay = world.run(outbox);
    await new Promise((r) => setTimeout(r, 300)); // the relay is idle and listening
    await inTransaction(world.pool, (c) =>
      outbox.enqueue(c, { subject: `${subject}.x`, payload: 1 }),
    );
    const delivered = await within(
      5_000,
      async () => (await rowCounts(world.pool, table)).sent === 1,
    );
    await relay.stop();
    assert.ok(delivered, "the row was not sent: the notification did not wake the relay");
  });

  it("a schema.table name longer than NOTIFY's 63-byte channel limit still enqueues, and its commit wakes the relay", async () => {
    const { subject } = await world.fresh();
    const table = `${"s".repeat(40)}.${"t".repeat(40)}`;
    await world.pool.query(`CREATE SCHEMA IF NOT EXISTS ${"s".repeat(40)}`);
    await migrateOutbox(world.pool, { table });
    const outbox = world.outbox(table, undefined, withRelayPollInterval("1h"));
    const relay = world.run(outbox);
    await new Promise((r) => setTimeout(r, 300)); // the relay is idle and listening
    await inTransaction(world.pool, (c) =>
      outbox.enqueue(c, { subject: `${subject}.x`, payload: 1 }),
    );
    const delivered = await within(
      5_000,
      async () => (await rowCounts(world.pool, table)).sent === 1,
    );
    await relay.stop();
    assert.ok(delivered, "the row was not sent: the notification did not wake the relay");
  });

  it("NATS stopped for 5 s while 1k events are enqueued: all arrive once it is back", async () => {
    const { stream, table, subject } = await world.fresh();
    const outbox = world.outbox(table);
    const relay = world.run(outbox);
    await world.nats.stop({ keepStore: true });
    const outageStarted = Date.now();
    const ids = await enqueueMany(world, outbox, subject, "outage", 1000);
    await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - outageStarted))));
    assert.equal(
      (await rowCounts(world.pool, table)).sent,
      0,
      "nothing is sent while NATS is down",
    );
    await world.nats.restart();
    await until(async () => (await rowCounts(world.pool, table)).sent === 1000);
    await relay.stop();

    const messages = await streamMessages(world.conn, stream);
    assert.equal(messages.length, 1000);
    assert.deepEqual(new Set(messages.map((m) => m.id)), new Set(ids));
    const { rows } = await world.pool.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE attempts > 1 AND last_error IS NULL`,
    );
    assert.ok((rows[0] as { n: number }).n > 0, "rows that failed during the outage were retried");
  });

  it("a relay killed with SIGKILL between publish and mark, then restarted: every event once, every row sent", async () => {
    const { stream, table, subject } = await world.fresh();
    const outbox = world.outbox(table);
    const ids = await enqueueMany(world, outbox, subject, "kill", 600);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", relayChild, world.postgres.url, world.nats.url, table, "250"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    let out = "";
    child.stdout.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("published")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`relay child exited early (${code})`)));
    });
    child.kill("SIGKILL");
    await exited;
    // The killed relay published its batch but marked nothing.
    const jsm = await world.conn.jetstreamManager();
    assert.equal((await jsm.streams.info(stream)).state.messages, 250);
    assert.equal((await rowCounts(world.pool, table)).sent, 0);

    let duplicates = 0;
    const producer = world.producer(
      withOnPublish((e: PublishEvent) => {
        if (e.duplicate) duplicates++;
      }),
    );
    const relay = world.run(world.outbox(table, producer));
    await until(async () => (await rowCounts(world.pool, table)).sent === 600);
    await relay.stop();

    const messages = await streamMessages(world.conn, stream);
    assert.equal(messages.length, 600);
    assert.deepEqual(new Set(messages.map((m) => m.id)), new Set(ids));
    assert.equal(duplicates, 250, "the killed batch was republished and deduplicated by msgId");
  });

  it("two relays at once never publish a row twice", async () => {
    const { stream, table, subject } = await world.fresh();
    const ids = await enqueueMany(world, world.outbox(table), subject, "pair", 2000, 500);
    const publishes = new Map<string, number>();
    const counting = () =>
      world.producer(
        withOnPublish((e: PublishEvent) => {
          const key = e.error === undefined ? (e.duplicate ? "duplicate" : "stored") : "failed";
          publishes.set(key, (publishes.get(key) ?? 0) + 1);
        }),
      );
    const small = [withRelayBatchSize(100), withRelayConcurrency(3)];
    const a = world.run(world.outbox(table, counting(), ...small));
    const b = world.run(world.outbox(table, counting(), ...small));
    await until(async () => (await rowCounts(world.pool, table)).sent === 2000);
    await Promise.all([a.stop(), b.stop()]);

    // Counted at the producers, before JetStream's dedup could hide a second send.
    assert.equal(publishes.get("stored"), 2000);
    assert.equal(publishes.get("duplicate") ?? 0, 0);
    const messages = await streamMessages(world.conn, stream);
    assert.deepEqual(new Set(messages.map((m) => m.id)), new Set(ids));
    assert.equal(messages.length, 2000);
  });

  it("a failing publish is recorded on its row, counted, and retried until it succeeds", async () => {
    const { table, subject } = await world.fresh();
    const registry = new Registry();
    const producer = world.producer(withPublishRetries(1));
    const outbox = world.outbox(table, producer, withOutboxMetrics({ registry }));
    // No stream listens on this subject yet: every publish fails with no responders.
    const orphan = `${subject}x.created`;
    const { id } = await inTransaction(world.pool, (c) =>
      outbox.enqueue(c, { subject: orphan, payload: 1 }),
    );
    const relay = world.run(outbox);
    await until(async () => {
      const { rows } = await world.pool.query(`SELECT attempts FROM "${table}" WHERE id = $1`, [
        id,
      ]);
      return (rows[0] as { attempts: number }).attempts >= 2;
    });
    const { rows } = await world.pool.query(
      `SELECT attempts, last_error, sent_at FROM "${table}" WHERE id = $1`,
      [id],
    );
    const row = rows[0] as { attempts: number; last_error: string; sent_at: Date | null };
    assert.equal(row.sent_at, null);
    assert.match(row.last_error, /ERR_NO_RESPONDERS/);
    const failures = await registry.getSingleMetricAsString(OutboxMetricName.failures);
    assert.match(failures, new RegExp(`table="${table}",stage="publish"} [1-9]`));
    const lag = await outbox.lag();
    assert.equal(lag.pending, 1);
    assert.equal(lag.failing, 1);
    assert.ok(lag.oldestPendingMs > 0);
    assert.match(
      await registry.getSingleMetricAsString(OutboxMetricName.pending),
      new RegExp(`table="${table}"} 1`),
    );

    const jsm = await world.conn.jetstreamManager();
    await jsm.streams.add({ name: `${table.toUpperCase()}_LATE`, subjects: [orphan] });
    await until(async () => (await rowCounts(world.pool, table)).sent === 1);
    await relay.stop();
    assert.match(
      await registry.getSingleMetricAsString(OutboxMetricName.published),
      new RegExp(`table="${table}"} 1`),
    );
    assert.equal((await outbox.lag()).pending, 0);
  });

  it("a relay whose producer's connection is closed stops with ErrConnectionClosed, its rows pending with the error", async () => {
    const { table, subject } = await world.fresh();
    const own = await connect(withServers(world.nats.url));
    const outbox = world.outbox(table, createProducer(own, withPublishRetries(1)));
    const ids = await enqueueMany(world, outbox, subject, "closed", 3);
    await own.close();
    const relay = world.run(outbox);
    await assert.rejects(relay.done, (err: unknown) => {
      assert.ok(err instanceof ErrConnectionClosed);
      assert.match(String(err), /outbox relay stopped/);
      return true;
    });
    const { rows } = await world.pool.query(
      `SELECT id, attempts, last_error, sent_at FROM "${table}" ORDER BY position`,
    );
    assert.deepEqual(
      rows.map((r: { id: string }) => r.id),
      ids,
    );
    for (const row of rows as { attempts: number; last_error: string; sent_at: Date | null }[]) {
      assert.equal(row.sent_at, null);
      assert.equal(row.attempts, 1);
      assert.match(row.last_error, /ERR_CONNECTION_CLOSED/);
    }
  });

  it("an idle relay stops at once even when PostgreSQL has stopped answering", async () => {
    const { table } = await world.fresh();
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: world.postgres.port });
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
    });
    pool.on("error", () => {}); // idle clients on the silenced flow
    try {
      const silenced = createOutbox(pool, world.producer(), withOutboxTable(table));
      const controller = new AbortController();
      const relaying = silenced.relay({ signal: controller.signal });
      // Idle: its LISTEN connection is up and its first (empty) batches are done.
      await until(async () => {
        const { rows } = await world.pool.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%'",
        );
        return (rows[0] as { n: number }).n === 1;
      });
      await new Promise((r) => setTimeout(r, 300));
      proxy.blackhole();
      controller.abort();
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        relaying.then(() => "stopped"),
        new Promise((r) => {
          timer = setTimeout(() => r("still running 3 s after the abort"), 3000);
        }),
      ]);
      clearTimeout(timer);
      assert.equal(stopped, "stopped");
    } finally {
      await proxy.close();
      await pool.end().catch(() => {});
    }
  });

  it("stopping the relay mid-batch lets the publishes in flight finish and be marked, and resolves", async () => {
    const { stream, table, subject } = await world.fresh();
    await enqueueMany(world, world.outbox(table), subject, "drain", 300, 300);
    const hold = gate();
    const real = world.producer();
    let calls = 0;
    const producer = {
      ...real,
      async publishWindowed(...args: Parameters<typeof real.publishWindowed>) {
        calls++;
        await hold.promise; // the batch is locked and in flight when the relay is stopped
        return real.publishWindowed(...args);
      },
    };
    const controller = new AbortController();
    const done = world
      .outbox(table, producer, withRelayBatchSize(100), withRelayConcurrency(1))
      .relay({ signal: controller.signal });
    await until(() => calls === 1);
    controller.abort();
    hold.open();
    await done;
    // The batch in flight stopped taking rows at the abort: the ones it took were sent and marked,
    // the rest released untouched; nothing is locked afterwards.
    const counts = await rowCounts(world.pool, table);
    const stored = (await (await world.conn.jetstreamManager()).streams.info(stream)).state
      .messages;
    assert.equal(counts.sent, stored);
    assert.ok(counts.sent <= 100);
    const { rows } = await world.pool.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE attempts > 0 AND sent_at IS NULL`,
    );
    assert.equal((rows[0] as { n: number }).n, 0, "no row was charged an attempt it did not get");
    const free = await world.pool.query(
      `SELECT count(*)::int AS n FROM (SELECT id FROM "${table}" FOR UPDATE SKIP LOCKED) t`,
    );
    assert.equal((free.rows[0] as { n: number }).n, 300);
  });

  it("rows claimed but not published when the relay stops keep their attempts, last error and attempt time exactly", async () => {
    const { stream, table, subject } = await world.fresh();
    await enqueueMany(world, world.outbox(table), subject, "kept", 20, 20);
    // As if an earlier relay had failed to publish them once, with microsecond timestamps.
    await world.pool.query(
      `UPDATE "${table}" SET attempts = 1, last_error = 'ERR_NO_RESPONDERS earlier',
        last_attempt_at = '2026-01-02 03:04:05.123456+00', next_attempt_at = now() - interval '1 s'`,
    );
    const before = await world.pool.query(
      `SELECT id, attempts, last_error, last_attempt_at::text AS at, next_attempt_at::text AS next
       FROM "${table}" ORDER BY id`,
    );
    const hold = gate();
    const real = world.producer();
    let calls = 0;
    const producer = {
      ...real,
      async publishWindowed(...args: Parameters<typeof real.publishWindowed>) {
        calls++;
        await hold.promise; // claimed; the abort comes before the first row is taken
        return real.publishWindowed(...args);
      },
    };
    const controller = new AbortController();
    const done = world
      .outbox(table, producer, withRelayBatchSize(100), withRelayConcurrency(1))
      .relay({ signal: controller.signal });
    await until(() => calls === 1);
    controller.abort();
    hold.open();
    await done;
    const after = await world.pool.query(
      `SELECT id, attempts, last_error, last_attempt_at::text AS at, next_attempt_at::text AS next
       FROM "${table}" ORDER BY id`,
    );
    assert.deepEqual(after.rows, before.rows);
    assert.equal((await rowCounts(world.pool, table)).sent, 0);
    const stored = (await (await world.conn.jetstreamManager()).streams.info(stream)).state
      .messages;
    assert.equal(stored, 0);
  });

  it("migrateOutbox is idempotent and safe to run concurrently", async () => {
    const table = "outbox_concurrent_migration";
    await Promise.all([1, 2, 3].map(() => migrateOutbox(world.pool, { table })));
    await migrateOutbox(world.pool, { table });
    const { rows } = await world.pool.query(
      "SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal",
      [table],
    );
    assert.equal((rows[0] as { n: number }).n, 1);
    assert.match(
      outboxMigrationSql({ table }),
      /CREATE TABLE IF NOT EXISTS "outbox_concurrent_migration"/,
    );
  });

  it("purge deletes sent rows older than the given age and keeps pending ones", async () => {
    const { table, subject } = await world.fresh();
    const outbox = world.outbox(table);
    await enqueueMany(world, outbox, subject, "purge", 3);
    const relay = world.run(outbox);
    await until(async () => (await rowCounts(world.pool, table)).sent === 3);
    await relay.stop();
    await enqueueMany(world, outbox, subject, "later", 2);
    assert.equal(await outbox.purge({ sentBefore: "1h" }), 0);
    assert.equal(await outbox.purge({ sentBefore: 0 }), 3);
    assert.deepEqual(await rowCounts(world.pool, table), { total: 2, sent: 0, pending: 2 });
  });

  describe("bad input gets a typed error naming what is wrong", () => {
    const pool = () => world.pool;
    const producer = () => world.producer();
    const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
      ["a pool that is not one", () => createOutbox({} as never, producer()), ErrInvalidOption],
      ["a producer that is not one", () => createOutbox(pool(), {} as never), ErrInvalidOption],
      [
        "a table name with SQL in it",
        () => createOutbox(pool(), producer(), withOutboxTable("x; DROP TABLE y")),
        ErrInvalidOption,
      ],
      [
        "a batch size of 0",
        () => createOutbox(pool(), producer(), withRelayBatchSize(0)),
        ErrInvalidOption,
      ],
      [
        "a fractional concurrency",
        () => createOutbox(pool(), producer(), withRelayConcurrency(1.5)),
        ErrInvalidOption,
      ],
      [
        "a poll interval that is not a duration",
        () => createOutbox(pool(), producer(), withRelayPollInterval("soon" as never)),
        ErrInvalidDuration,
      ],
      [
        "a backoff max below its initial",
        () => createOutbox(pool(), producer(), withRelayBackoff("2s", "1s")),
        ErrInvalidBackoff,
      ],
      [
        "a metrics registry that is not one",
        () => createOutbox(pool(), producer(), withOutboxMetrics({ registry: {} as never })),
        ErrInvalidOption,
      ],
      [
        "a migration table name with a quote",
        () => outboxMigrationSql({ table: 'a"b' }),
        ErrInvalidOption,
      ],
    ];
    for (const [what, call, expected] of cases) {
      it(`refuses ${what}`, () => {
        assert.throws(call, expected);
      });
    }

    it("refuses a wildcard subject, ids NATS would alter or refuse, a bad or padded header and a relay without a signal", async () => {
      const { table, subject } = await world.fresh();
      const outbox = world.outbox(table);
      await inTransaction(world.pool, async (c) => {
        await assert.rejects(
          outbox.enqueue(c, { subject: `${subject}.*`, payload: 1 }),
          ErrInvalidSubject,
        );
        // The id is the Nats-Msg-Id header: NATS trims it and refuses control characters, so
        // "a " would be stored as "a" (a duplicate, marked sent, never delivered).
        for (const id of ["", "a ", " a", "a\nb", "a\rb", "x".repeat(257)]) {
          await assert.rejects(
            outbox.enqueue(c, { id, subject: `${subject}.a`, payload: 1 }),
            ErrInvalidOption,
            JSON.stringify(id),
          );
        }
        await assert.rejects(
          outbox.enqueue(c, { subject: `${subject}.a`, payload: 1, headers: { note: " padded " } }),
          /no leading or trailing spaces/,
        );
        await assert.rejects(
          outbox.enqueue(c, { subject: `${subject}.a`, payload: 1, headers: { "bad key": "v" } }),
          ErrInvalidOption,
        );
        await assert.rejects(
          outbox.enqueue(null as never, { subject: `${subject}.a`, payload: 1 }),
          ErrInvalidOption,
        );
      });
      await assert.rejects(outbox.relay({} as never), ErrInvalidOption);
      await assert.rejects(outbox.relay(undefined as never), ErrInvalidOption);
      assert.equal((await rowCounts(world.pool, table)).total, 0);
    });

    it("says to run migrateOutbox when the table is missing, at enqueue and at relay", async () => {
      const outbox = world.outbox("never_migrated");
      await assert.rejects(
        inTransaction(world.pool, (c) => outbox.enqueue(c, { subject: "x.y", payload: 1 })),
        (err: Error & { code?: string }) => {
          assert.ok(err instanceof ErrOutboxTableMissing);
          assert.match(err.message, /migrateOutbox/);
          return true;
        },
      );
      await assert.rejects(
        outbox.relay({ signal: new AbortController().signal }),
        ErrOutboxTableMissing,
      );
    });

    it("wraps a failed INSERT in ErrOutboxEnqueueFailed with the driver's error as cause", async () => {
      const { table, subject } = await world.fresh();
      const outbox = world.outbox(table);
      await inTransaction(
        world.pool,
        async (c) => {
          await c.query("SELECT 1/0").catch(() => {}); // the transaction is now aborted
          await assert.rejects(
            outbox.enqueue(c, { subject: `${subject}.a`, payload: 1 }),
            (err: Error & { code?: string; cause?: { code?: string } }) => {
              assert.equal(err.code, ErrorCode.OutboxEnqueueFailed);
              assert.ok(err instanceof ErrOutboxEnqueueFailed);
              assert.equal(err.cause?.code, "25P02"); // in_failed_sql_transaction
              return true;
            },
          );
        },
        "ROLLBACK",
      );
    });
  });
});
