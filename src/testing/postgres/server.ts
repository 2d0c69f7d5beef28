import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { ErrPostgresStart } from "../../errors/index.js";
import { findPostgresBin } from "./binary.js";

const run = promisify(execFile);

/** A PostgreSQL server started for a test: loopback TCP only, trust auth, its own temp data dir. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (user `postgres`, no password). */
  readonly url: string;
  readonly port: number;
  /** The cluster's data directory (deleted by `stop()`). */
  readonly dataDir: string;
  /** The postmaster's pid, once known. */
  readonly pid: number | undefined;
  /** Stops the server at once (an immediate shutdown: the data is thrown away) and deletes its dir. */
  stop(): Promise<void>;
}

export interface TestPostgresOptions {
  /**
   * Keep PostgreSQL's durability settings. By default a test server runs with `fsync=off`,
   * `synchronous_commit=off` and `full_page_writes=off`: its data is deleted on stop, so surviving
   * an OS crash buys nothing, and commits no longer wait for the disk.
   * @default false
   */
  durable?: boolean;
  /** Extra server settings, passed as `-c name=value` (e.g. `{ max_connections: 300 }`). */
  settings?: Readonly<Record<string, string | number>>;
  /** @default 30_000 — ms to wait for initdb plus the server accepting connections. */
  startTimeout?: number;
}

const live = new Set<ChildProcess>();

/**
 * The guardian: a shell (as the server's user) that starts the postmaster, then blocks reading its
 * stdin, a pipe from this Node process. That pipe closes when `stop()` ends it or when this process
 * exits in any way (even SIGKILL), and the shell then stops the server and deletes its dir, so a
 * test that forgets `stop()` or crashes leaves no server behind. If the postmaster dies first, the
 * shell cleans up and exits with its status after printing the log's tail.
 */
const GUARDIAN = `
top=$1; bin=$2; shift 2
exec 3<&0 # a background job's stdin is /dev/null: hand the pipe over on fd 3
"$bin/postgres" -D "$top/data" "$@" >"$top/postgres.log" 2>&1 </dev/null &
pg=$!
( cat <&3 >/dev/null; kill -QUIT "$pg" 2>/dev/null ) &
watcher=$!
wait "$pg"; status=$?
kill "$watcher" 2>/dev/null
tail=$(tail -n 30 "$top/postgres.log" 2>/dev/null)
rm -rf "$top"
[ "$status" -ne 0 ] && printf '%s\\n' "$tail" >&2
exit "$status"
`;

/**
 * Starts a throw-away PostgreSQL server: `initdb` into a temp dir, then `postgres` on a free
 * loopback port, ready when `pg_isready` says it accepts connections. Running as root, both run
 * as the `postgres` system user (Debian's package creates it; initdb refuses root). Binaries come
 * from `findPostgresBin()` (`JETROUTE_PG_BIN`, else /usr/lib/postgresql/<major>/bin).
 * @throws ErrPostgresMissing when no PostgreSQL is installed (`npm run setup` installs it).
 * @throws ErrPostgresStart when initdb fails or the server is not ready within `startTimeout`.
 * @example
 * const pg = await startPostgres();
 * t.after(() => pg.stop());
 * const pool = new Pool({ connectionString: pg.url });
 */
export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const owner = serverUser();
  const deadline = Date.now() + (options.startTimeout ?? 30_000);
  // A free port found by binding :0 can be taken before postgres binds it: try again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, owner, options, deadline);
    } catch (err) {
      const portRace = err instanceof ErrPostgresStart && /already in use/i.test(err.message);
      if (!portRace || attempt >= 5 || Date.now() > deadline) throw err;
    }
  }
}

async function startOnce(
  bin: string,
  owner: Owner | undefined,
  options: TestPostgresOptions,
  deadline: number,
): Promise<TestPostgres> {
  const top = mkdtempSync(join(tmpdir(), "jetroute-pg-"));
  const dataDir = join(top, "data");
  chmodSync(top, 0o700);
  if (owner) chownSync(top, owner.uid, owner.gid);
  const as = {
    ...(owner ?? {}),
    cwd: top, // the caller's cwd (e.g. /root) may not be readable by the postgres user
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", LANG: "C", TZ: "UTC" },
  };
  try {
    // --no-sync: nothing initdb writes needs to survive an OS crash; saves seconds.
    await run(
      join(bin, "initdb"),
      ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
      { ...as, timeout: Math.max(1, deadline - Date.now()) },
    );
  } catch (err) {
    rmSync(top, { recursive: true, force: true });
    const out = (err as { stderr?: string }).stderr ?? "";
    throw new ErrPostgresStart(`initdb failed in ${top}: ${out.trim() || String(err)}`, {
      cause: err,
    });
  }

  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    port,
    unix_socket_directories: "", // TCP only: no socket in /var/run/postgresql to collide on
    ...(options.durable
      ? {}
      : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
    ...options.settings,
  };
  const args = Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
  const guard = spawn("/bin/sh", ["-c", GUARDIAN, "sh", top, bin, ...args], {
    ...as,
    stdio: ["pipe", "ignore", "pipe"],
    // Its own process group: a terminal's Ctrl-C reaches only us, and the closed pipe then stops
    // the server in order instead of killing the guardian halfway.
    detached: true,
  });
  live.add(guard);
  let stderrTail = "";
  guard.stderr?.setEncoding("utf8");
  guard.stderr?.on("data", (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    guard.once("exit", () => {
      live.delete(guard);
      resolve();
    });
  });
  guard.stdin?.on("error", () => {}); // EPIPE when the guardian has already gone

  const pidOf = (): number | undefined => {
    try {
      return Number(readFileSync(join(top, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    } catch {
      return undefined;
    }
  };
  let pid: number | undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  while (guard.exitCode === null && guard.signalCode === null) {
    if (Date.now() > deadline) {
      await halt(guard, exited, top);
      throw new ErrPostgresStart(
        `PostgreSQL did not accept connections on ${url} in time; log: ${readLog(top)}`,
      );
    }
    if (await accepting(bin, port)) {
      pid = pidOf();
      break;
    }
    await sleep(50);
  }
  if (pid === undefined) {
    await exited;
    await sleep(10); // the stderr pipe delivers the log tail just after the exit
    throw new ErrPostgresStart(
      `PostgreSQL exited before accepting connections (code ${guard.exitCode}): ${stderrTail.trim()}`,
    );
  }

  // From here the guardian must not keep a test process alive: if the test forgets stop(), the
  // process exits, the pipe closes and the guardian cleans up.
  setRef(guard, false);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    dataDir,
    pid,
    stop() {
      stopping ??= halt(guard, exited, top);
      return stopping;
    },
  };
}

/** Closes the guardian's stdin and waits for it to stop the server; SIGKILLs the group after 10 s. */
async function halt(guard: ChildProcess, exited: Promise<void>, top: string): Promise<void> {
  if (guard.exitCode === null && guard.signalCode === null) {
    setRef(guard, true);
    guard.stdin?.end();
    const timer = setTimeout(() => {
      if (guard.pid) killGroup(guard.pid);
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(top, { recursive: true, force: true });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function setRef(guard: ChildProcess, ref: boolean): void {
  for (const h of [guard, guard.stdin as Socket | null, guard.stderr as Socket | null]) {
    if (ref) h?.ref?.();
    else h?.unref?.();
  }
}

async function accepting(bin: string, port: number): Promise<boolean> {
  try {
    await run(join(bin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port), "-t", "1"], {
      timeout: 3_000,
    });
    return true;
  } catch {
    return false;
  }
}

function readLog(top: string): string {
  try {
    return readFileSync(join(top, "postgres.log"), "utf8").slice(-2000).trim();
  } catch {
    return "(no log)";
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/** Root runs the server as the `postgres` system user (initdb and postgres refuse root). */
function serverUser(): Owner | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  let passwd = "";
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch {
    // fall through to the error below
  }
  const line = passwd.split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new ErrPostgresStart(
      "running as root, but there is no `postgres` system user to run the server as (PostgreSQL refuses root); install Debian's `postgresql` package (`npm run setup`) or create the user",
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** A loopback port nothing listens on right now (the kernel's pick for :0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new ErrPostgresStart("could not reserve a free loopback port")),
      );
    });
  });
}

/** Guardian shells of the servers this process started and has not yet seen exit. */
export function livePostgresPids(): number[] {
  return [...live].map((c) => c.pid).filter((p): p is number => p !== undefined);
}
