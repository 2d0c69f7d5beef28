import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "../../src/errors/index.js";
import { replay } from "../../src/replay/index.js";
import { route, withStream, withSubject } from "../../src/router/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { makeStream, publishMany, unique, useConnection } from "./engine-support.js";

checkLeaksAfterAll();

describe("replay when the stream goes away", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("rejects with ERR_STREAM_NOT_FOUND when the stream is deleted during the replay", async () => {
    const stream = unique("RPLGONE");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.in`, 1500);
    const jsm = await conn.jetstreamManager();
    let deleted = false;
    const r = route(
      "gone",
      async () => {
        if (deleted) return;
        deleted = true;
        await jsm.streams.delete(stream);
      },
      withStream(stream),
      withSubject(`${prefix}.in`),
    );
    await assert.rejects(replay(conn, r, { from: "all" }), { code: ErrorCode.StreamNotFound });
  });

  it("rejects with ERR_STREAM_RECREATED when the stream is created again during the replay", async () => {
    const stream = unique("RPLAGAIN");
    const prefix = await makeStream(conn, stream);
    await publishMany(conn, `${prefix}.in`, 3000);
    const jsm = await conn.jetstreamManager();
    let recreated = false;
    const r = route(
      "again",
      async () => {
        if (recreated) return;
        recreated = true;
        await jsm.streams.delete(stream);
        await ensureStream(conn, stream, withSubjects(`${prefix}.>`));
        await publishMany(conn, `${prefix}.in`, 3);
      },
      withStream(stream),
      withSubject(`${prefix}.in`),
    );
    await assert.rejects(replay(conn, r, { from: "all" }), {
      code: ErrorCode.StreamRecreated,
    });
  });

  it("rejects with ERR_CONNECTION_CLOSED when the connection closes during the replay", async () => {
    const own = await useConnection(server.url);
    const stream = unique("RPLCLOSE");
    const prefix = await makeStream(own, stream);
    await publishMany(own, `${prefix}.in`, 1500);
    let closed = false;
    const r = route(
      "close",
      async () => {
        if (closed) return;
        closed = true;
        await own.close();
      },
      withStream(stream),
      withSubject(`${prefix}.in`),
    );
    await assert.rejects(replay(own, r, { from: "all" }), { code: ErrorCode.ConnectionClosed });
  });
});
