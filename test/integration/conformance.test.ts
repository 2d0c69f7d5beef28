// The test kit's acceptance: the conformance suite (test/conformance/suite.ts) gives the same
// outcomes on the in-memory broker and on a real nats-server.
import { describe } from "node:test";
import { memoryBackend, serverBackend } from "../../src/testing/index.js";
import { conformanceSuite } from "../conformance/suite.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";

checkLeaksAfterAll();

describe("Conformance: the in-memory broker", { timeout: 30_000 }, () => {
  conformanceSuite(() => memoryBackend());
});

describe("Conformance: a real nats-server", { timeout: 60_000 }, async () => {
  const server = await useServer();
  conformanceSuite(() => serverBackend({ url: server.url }));
});
