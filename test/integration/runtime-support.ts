// Shared by the runtime-*.test.ts files.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `condition` every 10 ms until it holds; fails the test if it does not within `ms`, so
 * a regression fails fast instead of hanging the file.
 */
export async function within(ms: number, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}
