import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import {
  ErrInboxNoTransaction,
  ErrInvalidOption,
  ErrorCode,
  isJetrouteError,
} from "../../src/errors/index.js";
import { type InboxStore, migrateInbox, pgInbox, withInbox } from "../../src/inbox/index.js";
import {
  fixed,
  reject,
  route,
  withBackoff,
  withConcurrency,
  withDLQ,
  withMaxDeliver,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import type { Context } from "../../src/router/types.js";
import { startPostgres, type TestPostgres } from "../../src/testing/index.js";
import { checkLeaksAfterAll, gate, useServer } from "../helpers/index.js";
import { jsStats, makeStream, runBroker, unique, until, useConnection } from "./engine-support.js";
import { assertEachOnce, EVENTS, exactlyOnce, portGate, publishEvents } from "./inbox-support.js";

checkLeaksAfterAll();

describe("withInbox on the PostgreSQL store", { timeout: 90_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);
  let postgres: TestPostgres;
  let pool: pg.Pool;

  before(async () => {
    postgres = await startPostgres();
    pool = new pg.Pool({ connectionString: postgres.url, max: 40 });
    await migrateInbox(pool);
    await pool.query("CREATE TABLE effects (event_id text NOT NULL, broker text)");
  });
  after(async () => {
    await pool?.end();
    await postgres?.stop();
  });

  async function setup() {
    const stream = unique("PGINBOX");
    const prefix = await makeStream(conn, stream);
    return { stream, subject: `${prefix}.in` };
  }

  async function effectsOf(prefix: string): Promise<Map<string, number>> {
    const { rows } = await pool.query<{ event_id: string; n: string }>(
      "SELECT event_id, count(*) AS n FROM effects WHERE event_id LIKE $1 GROUP BY event_id",
      [`${prefix}%`],
    );
    return new Map(rows.map((r) => [r.event_id, Number(r.n)]));
  }

  it("runs the handler once for three copies of one event; its effect commits with the row", async () => {
    const { stream, subject } = await setup();
    const inbox = pgInbox(pool);
    const id = `${stream}-order-1`;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (msg, ctx) => {
            await inbox
              .transaction(ctx)
              .query("INSERT INTO effects (event_id) VALUES ($1)", [
                msg.header("Jetroute-Event-Id"),
              ]);
          },
          withStream(stream),
          withSubject(subject),
          withInbox(inbox),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => id, 3);
    await until(() => (jsStats(run.broker, "bill").inbox?.duplicates ?? 0) === 2);
    await run.stop();
    assert.deepEqual([...(await effectsOf(id))], [[id, 1]]);
    const stats = jsStats(run.broker, "bill");
    assert.equal(stats.handled, 1);
    const { rows } = await pool.query(
      "SELECT consumer, message_key FROM jetroute_inbox WHERE message_key = $1",
      [id],
    );
    assert.deepEqual(rows, [{ consumer: `${stream}/bill`, message_key: id }]);
  });

  it("waits out a PostgreSQL outage longer than the route's retries: nothing is dead-lettered, each event runs once after", async () => {
    const { stream, subject } = await setup();
    const dlq = `${stream.toLowerCase()}.dlq`;
    // The inbox's pool reaches PostgreSQL through a gate the test closes (connections refused).
    const gateway = await portGate(postgres.port);
    const gated = new pg.Pool({
      connectionString: postgres.url.replace(`:${postgres.port}/`, `:${gateway.port}/`),
      max: 4,
      connectionTimeoutMillis: 1_000,
    });
    // Clients cut by the gate (idle ones, and any a transaction holds) fail; nothing to report.
    gated.on("error", () => {});
    gated.on("connect", (client) => client.on("error", () => {}));
    after(async () => {
      await gated.end();
      await gateway.close();
    });
    const inbox = pgInbox(gated);
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (msg, ctx) => {
            await inbox
              .transaction(ctx)
              .query("INSERT INTO effects (event_id) VALUES ($1)", [
                msg.header("Jetroute-Event-Id"),
              ]);
          },
          withStream(stream),
          withSubject(subject),
          withInbox(inbox),
          withMaxDeliver(2),
          withBackoff(fixed("50ms")),
          withDLQ(dlq),
        ),
      ),
    );
    await run.broker.started();
    await gateway.down();
    await publishEvents(conn, subject, 10, (i) => `${stream}-outage-${i}`);
    // Far longer than 2 deliveries 50 ms apart: before, every event was dead-lettered by now.
    await until(() => (jsStats(run.broker, "bill").inbox?.storeErrors ?? 0) >= 3);
    await new Promise((r) => setTimeout(r, 1_500));
    await gateway.up();
    await until(async () => (await effectsOf(`${stream}-outage-`)).size === 10);
    await run.stop();
    assertEachOnce(await effectsOf(`${stream}-outage-`), 10);
    const stats = jsStats(run.broker, "bill");
    assert.equal(stats.deadLettered, 0);
    assert.equal(stats.handled, 10);
  });

  it("counts each of two brokers' events exactly once under forced redeliveries", async () => {
    const pools = [pool, new pg.Pool({ connectionString: postgres.url, max: 40 })];
    after(() => pools[1]?.end());
    const stores = pools.map((p) => pgInbox(p as pg.Pool));
    let prefix = "";
    const result = await exactlyOnce({
      url: server.url,
      store: (_c, i) => stores[i] as InboxStore<unknown>,
      events: EVENTS,
      effect: async (id, ctx, i) => {
        prefix ||= id.slice(0, id.lastIndexOf("-evt-"));
        const tx = stores[i]?.transaction(ctx);
        await tx?.query("INSERT INTO effects (event_id, broker) VALUES ($1, $2)", [id, String(i)]);
      },
    });
    assertEachOnce(await effectsOf(prefix), EVENTS);
    assert.ok(result.inbox.duplicates >= EVENTS, `duplicates ${result.inbox.duplicates}`);
    assert.equal(result.inbox.storeErrors, 0);
    console.log(
      `pg exactly-once: ${EVENTS} events (${result.messages} messages, ${result.deliveries} deliveries) in ${Math.round(result.ms)} ms`,
      result.inbox,
    );
  });

  it("rolls back a failed handler's effect with its row, so the retry runs and commits once", async () => {
    const { stream, subject } = await setup();
    const inbox = pgInbox(pool);
    const id = `${stream}-retry`;
    let runs = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (_msg, ctx) => {
            runs++;
            await inbox.transaction(ctx).query("INSERT INTO effects (event_id) VALUES ($1)", [id]);
            if (runs === 1) throw new Error("ledger unavailable");
          },
          withStream(stream),
          withSubject(subject),
          withInbox(inbox),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => id);
    await until(() => jsStats(run.broker, "bill").acked === 1);
    await run.stop();
    assert.equal(runs, 2);
    assert.deepEqual([...(await effectsOf(id))], [[id, 1]]);
  });

  it("commits nothing when the handler caught a failed statement, and runs it again", async () => {
    const { stream, subject } = await setup();
    const inbox = pgInbox(pool);
    const id = `${stream}-swallowed`;
    let runs = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (_msg, ctx) => {
            runs++;
            const tx = inbox.transaction(ctx);
            await tx.query("INSERT INTO effects (event_id) VALUES ($1)", [id]);
            if (runs === 1) await tx.query("SELECT 1/0").catch(() => {}); // aborts the transaction
          },
          withStream(stream),
          withSubject(subject),
          withInbox(inbox),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => id);
    await until(() => jsStats(run.broker, "bill").acked === 1);
    await run.stop();
    assert.equal(runs, 2);
    assert.equal(jsStats(run.broker, "bill").inbox?.storeErrors, 1);
    assert.deepEqual([...(await effectsOf(id))], [[id, 1]]);
  });

  it("holds a concurrent copy on the uncommitted row, then acks it as a duplicate", async () => {
    const { stream, subject } = await setup();
    const inbox = pgInbox(pool);
    const id = `${stream}-concurrent`;
    const first = gate();
    const release = gate();
    let runs = 0;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (_msg, ctx) => {
            runs++;
            await inbox.transaction(ctx).query("INSERT INTO effects (event_id) VALUES ($1)", [id]);
            first.open();
            await release.promise;
          },
          withStream(stream),
          withSubject(subject),
          withConcurrency(2),
          withInbox(inbox),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => id, 2);
    try {
      await first.promise;
      // The second copy's INSERT waits on the first transaction's uncommitted row.
      await until(async () => {
        const waiting = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO \"jetroute_inbox\"%'",
        );
        return waiting.rows[0]?.n === 1;
      });
      assert.equal(runs, 1);
    } finally {
      release.open();
    }
    await until(() => jsStats(run.broker, "bill").inbox?.duplicates === 1);
    await run.stop();
    assert.equal(runs, 1);
    assert.deepEqual([...(await effectsOf(id))], [[id, 1]]);
  });

  it("dead-letters a rejected message with nothing committed", async () => {
    const { stream, subject } = await setup();
    const inbox = pgInbox(pool);
    const id = `${stream}-rejected`;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (_msg, ctx) => {
            await inbox.transaction(ctx).query("INSERT INTO effects (event_id) VALUES ($1)", [id]);
            return reject("card declined");
          },
          withStream(stream),
          withSubject(subject),
          withInbox(inbox),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => id);
    await until(() => jsStats(run.broker, "bill").deadLettered === 1);
    await run.stop();
    assert.equal((await effectsOf(id)).size, 0);
    const { rowCount } = await pool.query("SELECT 1 FROM jetroute_inbox WHERE message_key = $1", [
      id,
    ]);
    assert.equal(rowCount, 0);
  });

  it("refuses the transaction outside its handler and after the handler returned", async () => {
    const { stream, subject } = await setup();
    const inbox = pgInbox(pool);
    const other = pgInbox(pool);
    let kept: Context | undefined;
    let foreign: unknown;
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async (_msg, ctx) => {
            kept = ctx;
            try {
              other.transaction(ctx);
            } catch (err) {
              foreign = err;
            }
          },
          withStream(stream),
          withSubject(subject),
          withInbox(inbox),
        ),
      ),
    );
    await run.broker.started();
    await publishEvents(conn, subject, 1, () => `${stream}-x`);
    await until(() => jsStats(run.broker, "bill").acked === 1);
    await run.stop();
    assert.ok(foreign instanceof ErrInboxNoTransaction, "another inbox's transaction");
    assert.throws(() => inbox.transaction(kept as Context), ErrInboxNoTransaction);
    const plain = { route: "r" } as Context;
    assert.throws(() => inbox.transaction(plain), ErrInboxNoTransaction);
  });

  it("fails the route at start when the table was not migrated", async () => {
    const { stream, subject } = await setup();
    const run = runBroker(conn, (b) =>
      b.register(
        route(
          "bill",
          async () => {},
          withStream(stream),
          withSubject(subject),
          withInbox(pgInbox(pool, { table: "not_migrated" })),
        ),
      ),
    );
    const err = await run.done.then(
      () => assert.fail("expected the route to fail"),
      (e: unknown) => e,
    );
    assert.ok(isJetrouteError(err, ErrorCode.InboxStoreConflict), String(err));
  });

  it("migrates a schema-qualified table idempotently, even twice at once", async () => {
    await pool.query("CREATE SCHEMA IF NOT EXISTS billing");
    await Promise.all([
      migrateInbox(pool, { table: "billing.inbox" }),
      migrateInbox(pool, { table: "billing.inbox" }),
    ]);
    await migrateInbox(pool, { table: "billing.inbox" });
    const { rows } = await pool.query(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'billing' AND table_name = 'inbox' ORDER BY ordinal_position",
    );
    assert.deepEqual(
      rows.map((r) => r.column_name),
      ["consumer", "message_key", "processed_at"],
    );
  });

  it("purges rows older than a duration", async () => {
    const inbox = pgInbox(pool, { table: "billing.inbox" });
    await migrateInbox(pool, { table: "billing.inbox" });
    await pool.query(
      "INSERT INTO billing.inbox (consumer, message_key, processed_at) VALUES ('S/d', 'old', now() - interval '3 hours'), ('S/d', 'new', now())",
    );
    assert.equal(await inbox.purge({ olderThan: "2h" }), 1);
    const { rows } = await pool.query("SELECT message_key FROM billing.inbox");
    assert.deepEqual(rows, [{ message_key: "new" }]);
  });

  it("throws typed errors for bad options", () => {
    assert.throws(() => pgInbox({} as never), ErrInvalidOption);
    assert.throws(() => pgInbox(pool, { table: "inbox; DROP TABLE x" }), ErrInvalidOption);
    assert.throws(() => pgInbox(pool, { tabel: "x" } as never), ErrInvalidOption);
    assert.rejects(() => migrateInbox(pool, { table: "a.b.c" }), ErrInvalidOption);
  });
});
