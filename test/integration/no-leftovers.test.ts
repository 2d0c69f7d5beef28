import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer } from "../../src/testing/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";

checkLeaksAfterAll();

const run = promisify(execFile);
const child = fileURLToPath(new URL("./fixtures/servers-child.ts", import.meta.url));

/** Running, and not a zombie waiting for a reaper (a container's pid 1 may never reap). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Starts the servers in a child process and returns the pids it printed. */
async function serversStartedBy(mode: "stop" | "exit"): Promise<number[]> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", child, mode], {
    timeout: 60_000,
  });
  const pids = JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as unknown;
  assert.ok(Array.isArray(pids) && pids.length === 4);
  return pids as number[];
}

/** Signalled processes take a moment to be gone; waits (bounded) for that. */
async function stillRunning(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    if (!pids.some(alive)) return [];
    await sleep(50);
  }
  return pids.filter(alive);
}

describe("nats-server processes", () => {
  it("are seen as running while they run (so the checks below can fail)", async () => {
    const server = await startServer();
    const pid = server.pid ?? -1;
    assert.equal(alive(pid), true);
    await server.stop();
    assert.deepEqual(await stillRunning([pid]), []);
  });

  it("are all gone after a process stops its server and cluster", async () => {
    const pids = await serversStartedBy("stop");
    assert.deepEqual(await stillRunning(pids), []);
  });

  it("are all gone after a process exits without stopping them", async () => {
    const pids = await serversStartedBy("exit");
    assert.deepEqual(await stillRunning(pids), []);
  });
});
