import assert from "node:assert/strict";
import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { livePostgresPids, liveServerPids } from "../../src/testing/index.js";

// Resources that belong to the test runner itself, not to the code under test.
const RUNNER_RESOURCES = new Set(["TTYWrap", "PipeWrap", "FSReqCallback", "Immediate"]);

/** Active handles other than the runner's own: what would keep the process from exiting. */
export function leakedResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => !RUNNER_RESOURCES.has(r));
}

/**
 * Registers an `after` hook that fails the file when a timer, socket or server process is still
 * alive once every test (and its own cleanup) has finished. Call once at the top of a test file.
 */
export function checkLeaksAfterAll(): void {
  after(async () => {
    // Closed sockets and killed children report their end on the next turns of the loop.
    let leaked = leakedResources();
    const servers = () => liveServerPids().length + livePostgresPids().length;
    for (let i = 0; i < 40 && (leaked.length > 0 || servers() > 0); i++) {
      await sleep(50);
      leaked = leakedResources();
    }
    // the sleep itself leaves a Timeout behind only while it runs
    assert.deepEqual(liveServerPids(), [], "nats-server processes left running");
    // a PostgreSQL server a test forgot to stop() does not hold the loop open, so check it here
    assert.deepEqual(livePostgresPids(), [], "PostgreSQL servers left running (call stop())");
    assert.deepEqual(leaked, [], `handles left open: ${leaked.join(", ")}`);
  });
}
