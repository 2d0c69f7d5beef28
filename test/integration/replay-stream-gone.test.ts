import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "../../src/errors/index.js";
import { replay } from "../../src/replay/index.js";
import { route, withStream, withSubject } from "../../src/router/index.js";
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
});
