import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  route,
  withConcurrency,
  withDurable,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import {
  gate,
  makeStream,
  publishMany,
  runBroker,
  unique,
  until,
  useConnection,
} from "./engine-support.js";

checkLeaksAfterAll();

describe("JetStream engine: several instances on one durable", { timeout: 30_000 }, async () => {
  const server = await useServer();
  const instances = 3;
  const conns = await Promise.all(
    Array.from({ length: instances }, () => useConnection(server.url)),
  );

  it("runs every instance's workers at once: the durable does not cap them at one instance's share", async () => {
    const stream = unique("SCALE");
    const prefix = await makeStream(conns[0] ?? assert.fail(), stream);
    const concurrency = 4;
    const total = instances * concurrency * 3;
    await publishMany(conns[0] ?? assert.fail(), `${prefix}.job`, total);

    const release = gate();
    const running = new Array<number>(instances).fill(0);
    const seen = new Set<number>();
    let handled = 0;
    const runs = conns.map((conn, i) =>
      runBroker(conn, (b) =>
        b.register(
          route(
            "shared",
            async (msg) => {
              running[i] = (running[i] ?? 0) + 1;
              await release.promise;
              running[i] = (running[i] ?? 0) - 1;
              seen.add(msg.streamSequence ?? -1);
              handled++;
            },
            withStream(stream),
            withSubject(`${prefix}.>`),
            withDurable("shared"),
            withConcurrency(concurrency),
          ),
        ),
      ),
    );
    // Each instance holds concurrency + prefetch (8) messages at most; a durable capped at that
    // (max_ack_pending) would let the three together run 8 handlers, never 12.
    await until(() => running.every((n) => n === concurrency));
    release.open();
    await until(() => handled >= total);
    await Promise.all(runs.map((r) => r.stop()));
    assert.equal(seen.size, total, "every message handled");
    assert.equal(handled, total, "none handled twice");
  });
});
