import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ErrNatsServerStart } from "../errors/index.js";
import { findNatsServer } from "./binary.js";

/** A nats-server started for a test: JetStream on, loopback only, its own temp store dir. */
export interface TestServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The monitoring port (`/varz`, `/jsz`, `/healthz`). */
  readonly httpPort: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and, unless `keepStore`, deletes the store. */
  stop(options?: { keepStore?: boolean }): Promise<void>;
  /** Kills the process with SIGKILL, as a crash would; the store is kept for `restart()`. */
  kill(): Promise<void>;
  /** Stops (if running) and starts again on the same port with the same store. */
  restart(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra lines appended to the generated config (e.g. a `cluster {}` block). */
  extraConfig?: string;
  /** Fixed client port; by default the server picks a free one (`port: -1`). */
  port?: number;
  /** Fixed monitoring port; by default the server picks one. */
  httpPort?: number;
  /** A name for the server (`server_name`), needed in clusters. */
  name?: string;
  /** Use this store dir instead of a fresh temp dir. */
  storeDir?: string;
  /** @default false — pass `-DV` for protocol traces on stderr. */
  debug?: boolean;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every server this process started; runs on exit so a crashed test leaves none behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/**
 * Starts a nats-server the way nats.js's own test launcher does: a generated config with
 * `port: -1` and `ports_file_dir`, then reads the chosen ports back and waits for `/healthz`.
 * @example
 * const server = await startServer();
 * t.after(() => server.stop());
 */
export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  installExitHook();
  const bin = findNatsServer();
  const workDir = mkdtempSync(join(tmpdir(), "jetroute-nats-"));
  const storeDir = options.storeDir ?? join(workDir, "store");
  let port = options.port ?? -1;
  let httpPort = options.httpPort ?? -1;
  let child: ChildProcess | undefined;
  let stderrTail = "";

  const writeConfig = (): string => {
    const conf = join(workDir, "server.conf");
    const lines = [
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${httpPort}"`,
      `ports_file_dir: ${JSON.stringify(workDir)}`,
      options.name ? `server_name: ${JSON.stringify(options.name)}` : "",
      // Limits large enough for the benchmarks' backlogs.
      `jetstream { store_dir: ${JSON.stringify(storeDir)}, max_memory_store: 1GB, max_file_store: 20GB }`,
      options.extraConfig ?? "",
    ];
    writeFileSync(conf, `${lines.filter(Boolean).join("\n")}\n`);
    return conf;
  };

  const launch = async (): Promise<void> => {
    const conf = writeConfig();
    const args = ["-c", conf, ...(options.debug ? ["-DV"] : [])];
    const proc = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    live.add(proc);
    stderrTail = "";
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      if (options.debug) process.stderr.write(chunk);
    });
    proc.once("exit", () => live.delete(proc));
    const portsFile = join(workDir, `nats-server_${proc.pid}.ports`);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      const ports = readPorts(portsFile);
      if (ports && (await healthy(ports.http))) {
        port = ports.client;
        httpPort = ports.http;
        return;
      }
      await sleep(25);
    }
    proc.kill("SIGKILL");
    throw new ErrNatsServerStart(
      `nats-server did not become ready (${bin} -c ${conf}): ${stderrTail.trim()}`,
    );
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await launch();

  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get httpPort() {
      return httpPort;
    },
    storeDir,
    get pid() {
      return child?.pid;
    },
    async stop(stopOptions = {}) {
      await halt("SIGTERM");
      if (!stopOptions.keepStore) rmSync(workDir, { recursive: true, force: true });
    },
    async kill() {
      await halt("SIGKILL");
    },
    async restart() {
      await halt("SIGTERM");
      await launch();
    },
  };
}

function readPorts(file: string): { client: number; http: number } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as {
      nats?: string[];
      monitoring?: string[];
    };
    const client = portOf(parsed.nats?.[0]);
    const http = portOf(parsed.monitoring?.[0]);
    return client && http ? { client, http } : undefined;
  } catch {
    return undefined;
  }
}

function portOf(url: string | undefined): number | undefined {
  const m = url ? /:(\d+)$/.exec(url) : null;
  return m?.[1] ? Number(m[1]) : undefined;
}

/** `/healthz` over a one-off socket (no keep-alive agent that would outlive the test). */
function healthy(httpPort: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(
      { host: "127.0.0.1", port: httpPort, path: "/healthz", agent: false, timeout: 1_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
  });
}

/** Pids of the servers this process started and has not yet seen exit. */
export function liveServerPids(): number[] {
  return [...live].map((c) => c.pid).filter((p): p is number => p !== undefined);
}
