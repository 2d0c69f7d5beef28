// ensureStream and the stream's own wildcards: a requested subject that the stream already
// captures is nothing to do; a wider one replaces the narrower ones it covers; one that only
// partly overlaps a subject of the stream is refused before anything is sent.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, withServers } from "../../src/conn/index.js";
import type { Connection } from "../../src/conn/types.js";
import { ErrSubjectOverlap } from "../../src/errors/index.js";
import { withLogger } from "../../src/logger/index.js";
import { ensureStream, withSkipCoveredSubjects, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, type LogLine, recordingLogger, useServer } from "../helpers/index.js";

checkLeaksAfterAll();

describe("ensureStream with subjects the stream's own wildcards cover", async () => {
  const server = await useServer();
  const lines: LogLine[] = [];
  const conn = await connect(withServers(server.url), withLogger(recordingLogger(lines)));
  // A second connection watches the stream API on the wire, so "nothing sent" is observed, not
  // inferred from the result.
  const watcher = await connect(withServers(server.url));
  after(async () => {
    await watcher.close();
    await conn.close();
  });
  const jsm = await conn.jetstreamManager();

  /** Runs `fn` and returns the create/update requests for `stream` it sent. */
  async function writesDuring(stream: string, fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const sub = watcher.nats.subscribe(`$JS.API.STREAM.*.${stream}`, {
      callback: (_err, msg) => {
        const op = msg.subject.split(".")[3];
        if (op === "CREATE" || op === "UPDATE") seen.push(op);
      },
    });
    try {
      await watcher.nats.flush();
      await fn();
      // The server routed any request to the watcher before it answered it; one round trip
      // on the watcher's connection delivers what is on its way.
      await watcher.nats.flush();
    } finally {
      sub.unsubscribe();
    }
    return seen;
  }

  async function subjectsOf(stream: string): Promise<string[] | undefined> {
    return (await jsm.streams.info(stream)).config.subjects;
  }

  function logged(stream: string, from: number): LogLine[] {
    return lines.slice(from).filter((l) => l.obj.stream === stream);
  }

  it("does nothing for a subject the stream's `>` wildcard covers, and says so at debug", async () => {
    await ensureStream(conn, "GT", withSubjects("gt.>"));
    const from = lines.length;
    const writes = await writesDuring("GT", async () => {
      const info = await ensureStream(conn, "GT", withSubjects("gt.x"));
      assert.deepEqual(info.config.subjects, ["gt.>"]);
    });
    assert.deepEqual(writes, []);
    assert.deepEqual(await subjectsOf("GT"), ["gt.>"]);
    const covered = logged("GT", from).find((l) => l.msg === "requested subjects already covered");
    assert.equal(covered?.level, "debug");
    assert.deepEqual(covered?.obj.covered, [{ subject: "gt.x", by: "gt.>" }]);
    assert.ok(!logged("GT", from).some((l) => l.level !== "debug"));
  });

  it("does nothing for a subject several tokens below the stream's `>`", async () => {
    await ensureStream(conn, "DEEP", withSubjects("deep.>"));
    const writes = await writesDuring("DEEP", () =>
      ensureStream(conn, "DEEP", withSubjects("deep.x.y.z")),
    );
    assert.deepEqual(writes, []);
    assert.deepEqual(await subjectsOf("DEEP"), ["deep.>"]);
  });

  it("does nothing for one token under the stream's `*`, but adds a subject two tokens down", async () => {
    await ensureStream(conn, "STAR", withSubjects("star.*"));
    const none = await writesDuring("STAR", () =>
      ensureStream(conn, "STAR", withSubjects("star.x")),
    );
    assert.deepEqual(none, []);
    assert.deepEqual(await subjectsOf("STAR"), ["star.*"]);

    const info = await ensureStream(conn, "STAR", withSubjects("star.x.y"));
    assert.deepEqual(info.config.subjects, ["star.*", "star.x.y"]);
  });

  it("does nothing for a requested `*` wildcard the stream's `>` covers", async () => {
    await ensureStream(conn, "WILD", withSubjects("wild.>"));
    const writes = await writesDuring("WILD", () =>
      ensureStream(conn, "WILD", withSubjects("wild.*", "wild.*.z", "wild.a.>")),
    );
    assert.deepEqual(writes, []);
    assert.deepEqual(await subjectsOf("WILD"), ["wild.>"]);
  });

  it("widens a stream's `*` to a requested `>`, which `*` does not cover", async () => {
    await ensureStream(conn, "WIDEN", withSubjects("widen.*", "other.a"));
    const from = lines.length;
    const info = await ensureStream(conn, "WIDEN", withSubjects("widen.>"));
    assert.deepEqual(info.config.subjects, ["other.a", "widen.>"]);
    const updated = logged("WIDEN", from).find((l) => l.msg === "stream updated");
    assert.deepEqual(updated?.obj.changes, {
      subjects: { from: ["widen.*", "other.a"], to: ["other.a", "widen.>"] },
    });
    // A message on a subject only the wider wildcard captures is stored.
    const ack = await conn.jetstream.publish("widen.x.y", "deep");
    assert.equal(ack.stream, "WIDEN");
  });

  it("adds only the requested subjects not covered, keeping the stream's own", async () => {
    await ensureStream(conn, "MIXED", withSubjects("mixed.>", "keep.me"));
    const info = await ensureStream(
      conn,
      "MIXED",
      withSubjects("mixed.x", "new.one", "mixed.*.z", "new.more.>", "keep.me"),
    );
    assert.deepEqual(info.config.subjects, ["mixed.>", "keep.me", "new.one", "new.more.>"]);
  });

  it("creates a stream without the requested subjects another requested one covers", async () => {
    const info = await ensureStream(conn, "FRESH", withSubjects("fresh.x", "fresh.>", "fresh.*"));
    assert.deepEqual(info.config.subjects, ["fresh.>"]);
  });

  it("refuses a requested wildcard that partly overlaps the stream's subject, sending nothing", async () => {
    await ensureStream(conn, "PART", withSubjects("part.*.x"));
    const writes = await writesDuring("PART", async () => {
      await assert.rejects(ensureStream(conn, "PART", withSubjects("part.a.*")), (err: unknown) => {
        assert.ok(err instanceof ErrSubjectOverlap);
        assert.equal(err.stream, "PART");
        assert.equal(err.otherStream, "PART");
        assert.deepEqual(err.subjects, ["part.a.*"]);
        return true;
      });
    });
    assert.deepEqual(writes, []);
    assert.deepEqual(await subjectsOf("PART"), ["part.*.x"]);
  });

  it("refuses two requested subjects that partly overlap each other on create", async () => {
    await assert.rejects(
      ensureStream(conn, "PAIR", withSubjects("pair.*.x", "pair.a.*")),
      (err: unknown) => err instanceof ErrSubjectOverlap && err.otherStream === "PAIR",
    );
  });

  it("still refuses a subject another stream captures when the rest is covered by its own", async () => {
    await ensureStream(conn, "MINE", withSubjects("mine.>"));
    await ensureStream(conn, "THEIRS", withSubjects("theirs.>"));
    await assert.rejects(
      ensureStream(conn, "MINE", withSubjects("mine.x", "theirs.y")),
      (err: unknown) => err instanceof ErrSubjectOverlap && err.otherStream === "THEIRS",
    );
    // ...and skips it when asked to, leaving the stream as it was.
    const writes = await writesDuring("MINE", () =>
      ensureStream(conn, "MINE", withSubjects("mine.x", "theirs.y"), withSkipCoveredSubjects()),
    );
    assert.deepEqual(writes, []);
    assert.deepEqual(await subjectsOf("MINE"), ["mine.>"]);
  });
});

describe("ensureStream on a stream that captures every subject", async () => {
  // Its own server: a `>` stream would capture every other test's subjects.
  const server = await useServer();
  const conn: Connection = await connect(withServers(server.url));
  after(() => conn.close());
  const jsm = await conn.jetstreamManager();
  // Capturing `>` includes the JetStream API subjects, which the server allows only with no_ack.
  await jsm.streams.add({ name: "ALL", subjects: [">"], no_ack: true, storage: "memory" });

  it("does nothing for any subject, literal or wildcard", async () => {
    const info = await ensureStream(conn, "ALL", withSubjects("a", "a.b.c", "x.*", "y.>"));
    assert.deepEqual(info.config.subjects, [">"]);
    assert.deepEqual((await jsm.streams.info("ALL")).config.subjects, [">"]);
  });
});
