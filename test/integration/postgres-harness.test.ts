import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { ErrorCode } from "../../src/errors/index.js";
import { startPostgres } from "../../src/testing/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";

checkLeaksAfterAll();

const fixture = fileURLToPath(new URL("./fixtures/postgres-child.ts", import.meta.url));

/** Running, and not a zombie waiting for a reaper (a container's pid 1 may never reap). */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits (bounded) until the postmaster is gone and its dir deleted; true when both happened. */
async function cleanedUp(pid: number, dataDir: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (!alive(pid) && !existsSync(dataDir)) return true;
    await sleep(50);
  }
  return false;
}

/** Runs the fixture in a child process and returns what it printed, plus the child itself. */
async function startedByChild(mode: "exit" | "hang") {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.setEncoding("utf8");
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
    });
    child.once("exit", (code) => reject(new Error(`fixture exited (${code}) before printing`)));
  });
  const started = JSON.parse(line) as { pid: number; dataDir: string };
  assert.ok(alive(started.pid), "the postmaster runs");
  return { child, ...started };
}

describe("PostgreSQL test harness", () => {
  it("starts a server that accepts connections at its url, and stop() removes it", async () => {
    const server = await startPostgres();
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const { rows } = await client.query<{ n: number }>("SELECT 1 + 1 AS n");
    assert.equal(rows[0]?.n, 2);
    await client.end();
    assert.ok(alive(server.pid));
    assert.ok(existsSync(server.dataDir));
    await server.stop();
    assert.equal(alive(server.pid), false);
    assert.equal(existsSync(server.dataDir), false);
  });

  it("runs two servers at once on their own ports and dirs", async () => {
    const [a, b] = await Promise.all([startPostgres(), startPostgres()]);
    try {
      assert.notEqual(a.port, b.port);
      assert.notEqual(a.dataDir, b.dataDir);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("trades durability for speed by default, and keeps it with durable: true", async () => {
    const fast = await startPostgres();
    const durable = await startPostgres({ durable: true, settings: { max_connections: 20 } });
    const setting = async (url: string, name: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ v: string }>("SELECT current_setting($1) AS v", [
          name,
        ]);
        return rows[0]?.v;
      } finally {
        await client.end();
      }
    };
    try {
      assert.equal(await setting(fast.url, "fsync"), "off");
      assert.equal(await setting(durable.url, "fsync"), "on");
      assert.equal(await setting(durable.url, "max_connections"), "20");
    } finally {
      await Promise.all([fast.stop(), durable.stop()]);
    }
  });

  it("stop() may be called twice", async () => {
    const server = await startPostgres();
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    assert.equal(alive(server.pid), false);
  });

  it("a process that exits without stop() leaves no server behind", async () => {
    const { child, pid, dataDir } = await startedByChild("exit");
    await new Promise((resolve) => child.once("exit", resolve));
    assert.ok(await cleanedUp(pid, dataDir), `postmaster ${pid} or ${dataDir} left behind`);
  });

  it("a process killed with SIGKILL leaves no server behind", async () => {
    const { child, pid, dataDir } = await startedByChild("hang");
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    assert.ok(await cleanedUp(pid, dataDir), `postmaster ${pid} or ${dataDir} left behind`);
  });

  it("says how to install PostgreSQL when JETROUTE_PG_BIN holds no server", async () => {
    const empty = mkdtempSync(join(tmpdir(), "jetroute-nopg-"));
    const before = process.env.JETROUTE_PG_BIN;
    process.env.JETROUTE_PG_BIN = empty;
    try {
      await assert.rejects(startPostgres(), (err: { code?: string; message?: string }) => {
        assert.equal(err.code, ErrorCode.PostgresMissing);
        assert.match(err.message ?? "", /apt-get install postgresql/);
        return true;
      });
    } finally {
      if (before === undefined) delete process.env.JETROUTE_PG_BIN;
      else process.env.JETROUTE_PG_BIN = before;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("fails with ErrPostgresStart and the server's log when a setting is invalid", async () => {
    await assert.rejects(
      startPostgres({ settings: { shared_buffers: "not-a-size" } }),
      (err: { code?: string; message?: string }) => {
        assert.equal(err.code, ErrorCode.PostgresStart);
        assert.match(err.message ?? "", /shared_buffers/);
        return true;
      },
    );
  });
});
