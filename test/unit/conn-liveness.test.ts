import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_MAX_PINGS_OUT, DEFAULT_PING_INTERVAL_MS } from "../../src/index.js";

describe("connection liveness defaults", () => {
  it("detect a dead TCP flow within 30 s", () => {
    // nats.js declares the flow stale at the tick after maxPingsOut unanswered PINGs
    const detectionMs = DEFAULT_PING_INTERVAL_MS * (DEFAULT_MAX_PINGS_OUT + 1);
    assert.ok(detectionMs <= 30_000, `detection takes ${detectionMs} ms`);
  });

  it("tolerate one unanswered PING, so a single slow round trip is not a dead flow", () => {
    assert.ok(DEFAULT_MAX_PINGS_OUT >= 2);
  });
});
