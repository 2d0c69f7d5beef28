import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, withServers } from "../../src/conn/index.js";
import {
  ErrConnectionClosed,
  ErrInvalidDuration,
  ErrInvalidOption,
  ErrInvalidStreamName,
  ErrInvalidSubject,
  ErrStreamConfigRejected,
  ErrSubjectOverlap,
} from "../../src/errors/index.js";
import { withLogger } from "../../src/logger/index.js";
import {
  deleteStream,
  ensureStream,
  type StreamOption,
  streamExists,
  withDiscard,
  withDuplicateWindow,
  withMaxAge,
  withMaxBytes,
  withMaxMsgSize,
  withMaxMsgs,
  withReplicas,
  withRetention,
  withSkipCoveredSubjects,
  withStorage,
  withSubjects,
} from "../../src/stream/index.js";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { type LogLine, recordingLogger } from "../helpers/memory-logger.js";

checkLeaksAfterAll();

describe("ensureStream", async () => {
  const server = await startServer();
  const lines: LogLine[] = [];
  const conn = await connect(withServers(server.url), withLogger(recordingLogger(lines)));
  after(async () => {
    // the connection first: closing it with the server gone would wait on reconnects
    await conn.close();
    await server.stop();
  });
  const jsm = await conn.jetstreamManager();

  async function streamNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    return names.sort();
  }

  it("creates a missing stream with the requested settings", async () => {
    const info = await ensureStream(
      conn,
      "CREATE",
      withSubjects("create.>"),
      withStorage("memory"),
      withMaxAge("1h"),
      withMaxMsgs(1000),
      withDiscard("new"),
    );
    assert.deepEqual(info.config.subjects, ["create.>"]);
    assert.equal(info.config.storage, "memory");
    assert.equal(info.config.max_age, 3_600_000_000_000);
    assert.equal(info.config.max_msgs, 1000);
    assert.equal(info.config.discard, "new");
    assert.equal(await streamExists(conn, "CREATE"), true);
  });

  it("does nothing when called again with the same config", async () => {
    const opts = [withSubjects("same.a", "same.b"), withMaxAge("10m"), withDuplicateWindow("1m")];
    const first = await ensureStream(conn, "SAME", ...opts);
    const from = lines.length;
    const second = await ensureStream(conn, "SAME", ...opts);
    assert.equal(second.created, first.created);
    assert.deepEqual(second.config, first.config);
    const logged = lines.slice(from).filter((l) => l.obj.stream === "SAME");
    assert.ok(logged.some((l) => l.msg === "stream unchanged"));
    assert.ok(!logged.some((l) => l.msg === "stream updated" || l.msg === "stream created"));
  });

  it("adds a new subject and keeps the ones the stream already has", async () => {
    await ensureStream(conn, "GROW", withSubjects("grow.a"));
    const info = await ensureStream(conn, "GROW", withSubjects("grow.b"));
    assert.deepEqual(info.config.subjects, ["grow.a", "grow.b"]);
  });

  it("updates a changed limit and logs what changed", async () => {
    await ensureStream(conn, "LIMITS", withSubjects("limits.>"), withMaxBytes(1_000_000));
    const from = lines.length;
    const info = await ensureStream(conn, "LIMITS", withMaxBytes(2_000_000));
    assert.equal(info.config.max_bytes, 2_000_000);
    assert.deepEqual(info.config.subjects, ["limits.>"]);
    const updated = lines.slice(from).find((l) => l.msg === "stream updated");
    assert.deepEqual(updated?.obj.changes, { max_bytes: { from: 1_000_000, to: 2_000_000 } });
  });

  it("refuses subjects another stream captures, naming that stream", async () => {
    await ensureStream(conn, "OWNER", withSubjects("owned.>"));
    await assert.rejects(
      ensureStream(conn, "INTRUDER", withSubjects("owned.x")),
      (err: unknown) => {
        assert.ok(err instanceof ErrSubjectOverlap);
        assert.equal(err.stream, "INTRUDER");
        assert.equal(err.otherStream, "OWNER");
        assert.deepEqual(err.subjects, ["owned.x"]);
        return true;
      },
    );
    assert.equal(await streamExists(conn, "INTRUDER"), false);
  });

  it("refuses to add an overlapping subject to an existing stream", async () => {
    await ensureStream(conn, "HOLDER", withSubjects("held.*"));
    await ensureStream(conn, "NEIGHBOUR", withSubjects("neighbour.>"));
    await assert.rejects(
      ensureStream(conn, "NEIGHBOUR", withSubjects("held.one")),
      (err: unknown) => err instanceof ErrSubjectOverlap && err.otherStream === "HOLDER",
    );
    const info = await jsm.streams.info("NEIGHBOUR");
    assert.deepEqual(info.config.subjects, ["neighbour.>"]);
  });

  it("skips subjects another stream captures when asked to, and warns", async () => {
    await ensureStream(conn, "SHARED", withSubjects("shared.>"));
    const from = lines.length;
    const info = await ensureStream(
      conn,
      "LOCAL",
      withSubjects("shared.orders", "local.orders"),
      withSkipCoveredSubjects(),
    );
    assert.deepEqual(info.config.subjects, ["local.orders"]);
    const warned = lines.slice(from).find((l) => l.level === "warn");
    assert.equal(warned?.obj.otherStream, "SHARED");
  });

  it("maps a configuration the server refuses to ErrStreamConfigRejected", async () => {
    await assert.rejects(
      ensureStream(conn, "TRIPLE", withSubjects("triple.>"), withReplicas(3)),
      (err: unknown) => err instanceof ErrStreamConfigRejected && err.cause instanceof Error,
    );
  });

  it("deletes a stream, and reports a missing one as not deleted", async () => {
    await ensureStream(conn, "GONE", withSubjects("gone.>"));
    assert.equal(await deleteStream(conn, "GONE"), true);
    assert.equal(await deleteStream(conn, "GONE"), false);
    assert.equal(await streamExists(conn, "GONE"), false);
  });

  const badNames = ["", "has space", "a.b", "a*", "a>", "a/b", "a\\b", 42 as unknown as string];
  for (const name of badNames) {
    it(`rejects the stream name ${JSON.stringify(name)} and creates nothing`, async () => {
      const before = await streamNames();
      await assert.rejects(ensureStream(conn, name, withSubjects("x.y")), ErrInvalidStreamName);
      assert.deepEqual(await streamNames(), before);
    });
  }

  const badSubjects = ["", "a..b", "a b", "a.>.b", ".a"];
  for (const subject of badSubjects) {
    it(`rejects the subject ${JSON.stringify(subject)} and creates nothing`, async () => {
      await assert.rejects(ensureStream(conn, "BADSUBJ", withSubjects(subject)), ErrInvalidSubject);
      assert.equal(await streamExists(conn, "BADSUBJ"), false);
    });
  }

  const badOptions: [string, StreamOption, new (...a: never[]) => Error][] = [
    ["an unknown retention", withRetention("forever" as "limits"), ErrInvalidOption],
    ["an unknown storage", withStorage("disk" as "file"), ErrInvalidOption],
    ["zero replicas", withReplicas(0), ErrInvalidOption],
    ["six replicas", withReplicas(6), ErrInvalidOption],
    ["a negative max age", withMaxAge(-5), ErrInvalidDuration],
    ["max bytes below -1", withMaxBytes(-2), ErrInvalidOption],
    ["fractional max messages", withMaxMsgs(1.5), ErrInvalidOption],
    ["a duplicate window in days", withDuplicateWindow("2d" as "2h"), ErrInvalidDuration],
    ["an unknown discard policy", withDiscard("oldest" as "old"), ErrInvalidOption],
    ["max message size below -1", withMaxMsgSize(-3), ErrInvalidOption],
  ];
  for (const [what, option, cls] of badOptions) {
    it(`rejects ${what} and creates nothing`, async () => {
      await assert.rejects(ensureStream(conn, "BADOPT", withSubjects("badopt.>"), option), cls);
      assert.equal(await streamExists(conn, "BADOPT"), false);
    });
  }

  it("answers ErrConnectionClosed, not a raw nats.js error, once the connection is closed", async () => {
    const closed = await connect(withServers(server.url));
    await closed.jetstreamManager();
    await closed.close();
    for (const call of [
      () => ensureStream(closed, "CLOSED", withSubjects("closed.>")),
      () => streamExists(closed, "CLOSED"),
      () => deleteStream(closed, "CLOSED"),
    ]) {
      await assert.rejects(call(), ErrConnectionClosed);
    }
  });
});
