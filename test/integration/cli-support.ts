// Running the `jetroute` command as a subprocess, exactly as a user runs it, for the cli-*.test.ts
// files: `node --import tsx src/cli/main.ts ...` from the repo root, NATS_URL unset unless given.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = "src/cli/main.ts";

/** Far above a normal run (~1 s); only a hung command gets near it. */
const KILL_AFTER_MS = 30_000;

export interface CliRun {
  /** null when the process was killed (by the timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Extra environment; NATS_URL is removed from the inherited one unless set here. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed (stdin is never a terminal here). */
  input?: string;
  /** Run this instead of the tsx entry (the built `dist/cli/main.js`). */
  entry?: string;
  /** Working directory; the repo root by default. */
  cwd?: string;
  /** Like `| head -c N`: read this many bytes of stdout, then close the pipe. */
  stdoutBytes?: number;
  /** Called once the process is spawned, e.g. to send it a signal later. */
  onSpawn?: (child: { kill(signal: NodeJS.Signals): boolean; pid?: number | undefined }) => void;
  /** In a terminal run: awaited once the `[y/N]` prompt shows, before `input` is typed. */
  beforeAnswer?: () => Promise<void>;
  /** Called with each chunk of stderr as it arrives. */
  onStderr?: (chunk: string, child: { kill(signal: NodeJS.Signals): boolean }) => void;
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NATS_URL;
  delete env.JETROUTE_DEBUG;
  delete env.JETROUTE_PROGRESS;
  Object.assign(env, options.env);
  const nodeArgs = options.entry ? [options.entry] : ["--import", "tsx", MAIN];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: KILL_AFTER_MS,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      if (options.stdoutBytes !== undefined && stdout.length >= options.stdoutBytes) {
        stdout = stdout.slice(0, options.stdoutBytes);
        child.stdout.destroy();
      }
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      options.onStderr?.(s, child);
    });
    child.stdin.end(options.input ?? "");
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

/** The run as text for an assertion message. */
export function show(run: CliRun): string {
  return `exit code ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

/** The `jetroute: ...` lines of stderr. */
export function errorLines(run: CliRun): string[] {
  return run.stderr.split("\n").filter((l) => l.startsWith("jetroute: "));
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts and never answers: a NATS connect to it hangs until its timeout. */
export async function blackHole(): Promise<{
  url: string;
  /** Resolves when a client connected (the CLI got as far as dialling: its handlers are in). */
  connected: Promise<void>;
  close(): Promise<void>;
}> {
  const sockets = new Set<import("node:net").Socket>();
  let onConnect!: () => void;
  const connected = new Promise<void>((resolve) => {
    onConnect = resolve;
  });
  const server: Server = createServer((s) => {
    onConnect();
    sockets.add(s);
    s.on("error", () => {});
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `nats://127.0.0.1:${port}`,
    connected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Quotes one argument for `sh`. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs the CLI with stdin, stdout and stderr on a terminal (a pty from util-linux `script`), for
 * prompts and progress bars. `input` is typed into it; output is stdout and stderr together,
 * with the terminal's `\r\n` and the echo of the input. `input` is typed when a `[y/N]` prompt
 * shows.
 */
export function runCliInTerminal(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliRun> {
  const command = [process.execPath, "--import", "tsx", MAIN, ...args].map(shellQuote).join(" ");
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NATS_URL;
    Object.assign(env, options.env);
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: KILL_AFTER_MS,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    let typed = false;
    child.stdin.on("error", () => {}); // the pty may be gone before we type
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      // typed once the prompt is up: a pty drops input sent before the program reads it
      if (!typed && options.input !== undefined && stdout.includes("[y/N]")) {
        typed = true;
        const answer = options.input;
        void (options.beforeAnswer?.() ?? Promise.resolve()).then(
          () => child.stdin.end(answer),
          (err: unknown) => {
            child.kill("SIGKILL");
            reject(err);
          },
        );
      }
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    child.once("error", reject);
    child.once("close", (code) => {
      child.stdin.destroy();
      resolve({ code, stdout, stderr });
    });
  });
}
