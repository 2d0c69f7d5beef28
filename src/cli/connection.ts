import { accessSync, constants, readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import {
  type Connection,
  type ConnOption,
  connect,
  ErrorCode,
  findJetrouteError,
  withConnectTimeout,
  withCredsFile,
  withMaxReconnectAttempts,
  withName,
  withNkeySeed,
  withReconnectWait,
  withServers,
  withTls,
  withToken,
  withUserPass,
} from "../index.js";
import { OperationError, UsageError } from "./exit.js";
import { parseDurationFlag } from "./parse.js";

/** The connection flags as commander parses them (global: accepted before or after the command). */
export interface ConnectionFlags {
  server?: string[];
  creds?: string;
  token?: string;
  user?: string;
  password?: string;
  nkey?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  timeout?: string;
}

const DEFAULT_SERVER = "nats://127.0.0.1:4222";
const DEFAULT_TIMEOUT = "5s";

/** `--server a --server b,c` -> ["a", "b", "c"]. */
function collectServers(value: string, previous: string[] | undefined): string[] {
  const urls = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...urls];
}

/** Adds the connection flags to the root program. */
export function addConnectionOptions(program: Command): Command {
  return program
    .option(
      "-s, --server <url>",
      `NATS server URL; repeat or comma-separate for several (default: $NATS_URL, else ${DEFAULT_SERVER})`,
      collectServers,
    )
    .option("--creds <file>", "authenticate with a .creds file (JWT + nkey seed)")
    .option("--token <token>", "authenticate with a token")
    .option("--user <user>", "authenticate with a user (with --password)")
    .option("--password <password>", "the password for --user")
    .option("--nkey <file>", "authenticate with a user nkey seed (SU...) read from a file")
    .option("--tls-cert <file>", "client certificate for mutual TLS (with --tls-key)")
    .option("--tls-key <file>", "client private key for mutual TLS (with --tls-cert)")
    .option("--tls-ca <file>", "CA bundle that signed the server's certificate")
    .addOption(
      new Option("--timeout <duration>", "how long connecting may take, e.g. 5s, 500ms").default(
        DEFAULT_TIMEOUT,
      ),
    );
}

/** The servers the flags (or NATS_URL) name, for messages. */
export function serversOf(flags: ConnectionFlags, env: NodeJS.ProcessEnv): string[] {
  if (flags.server && flags.server.length > 0) return flags.server;
  const fromEnv = env.NATS_URL?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return fromEnv && fromEnv.length > 0 ? fromEnv : [DEFAULT_SERVER];
}

/** What nats.js dials: `nats://host:port`, `tls://...`, `ws://...` or a bare `host:port`. */
function checkServerUrl(source: string, url: string): void {
  let ok = url.length > 0 && !/\s/.test(url);
  if (ok) {
    try {
      ok = new URL(url.includes("://") ? url : `nats://${url}`).hostname.length > 0;
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw new UsageError(
      `${source} must be a server URL such as nats://127.0.0.1:4222, got ${JSON.stringify(url)}`,
    );
  }
}

function readable(flag: string, path: string): string {
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`${flag} ${JSON.stringify(path)}: no such readable file`);
  }
  return path;
}

/**
 * The flags as `connect(...)` options. Bad combinations are usage errors naming the flags;
 * every value is checked again by `connect`, whose refusals also exit 2.
 */
export function connectOptions(flags: ConnectionFlags, env: NodeJS.ProcessEnv): ConnOption[] {
  const auth = [
    flags.creds !== undefined && "--creds",
    flags.token !== undefined && "--token",
    (flags.user !== undefined || flags.password !== undefined) && "--user/--password",
    flags.nkey !== undefined && "--nkey",
  ].filter((x): x is string => typeof x === "string");
  if (auth.length > 1) {
    throw new UsageError(`use one way to authenticate, got ${auth.join(" and ")}`);
  }
  if ((flags.user === undefined) !== (flags.password === undefined)) {
    throw new UsageError("--user and --password go together");
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  const timeoutMs = parseDurationFlag("--timeout", flags.timeout ?? DEFAULT_TIMEOUT);
  if (timeoutMs <= 0) {
    throw new UsageError(`--timeout must be a duration longer than 0, got "${flags.timeout}"`);
  }

  const source = flags.server && flags.server.length > 0 ? "--server" : "NATS_URL";
  const servers = serversOf(flags, env);
  for (const url of servers) checkServerUrl(source, url);

  const options: ConnOption[] = [
    withServers(...servers),
    withName("jetroute-cli"),
    withConnectTimeout(timeoutMs),
    // A CLI must not wait forever for a server that went away mid-command.
    withMaxReconnectAttempts(3),
    withReconnectWait("1s"),
  ];
  if (flags.creds !== undefined) options.push(withCredsFile(readable("--creds", flags.creds)));
  if (flags.token !== undefined) options.push(withToken(flags.token));
  if (flags.user !== undefined && flags.password !== undefined) {
    options.push(withUserPass(flags.user, flags.password));
  }
  if (flags.nkey !== undefined) {
    const seed = readFileSync(readable("--nkey", flags.nkey), "utf8").trim();
    if (!seed.startsWith("SU")) {
      // never echo the file's content: it is a secret
      throw new UsageError(`--nkey ${JSON.stringify(flags.nkey)}: not a user nkey seed (SU...)`);
    }
    options.push(withNkeySeed(seed));
  }
  if (flags.tlsCert !== undefined || flags.tlsCa !== undefined) {
    const files: { caFile?: string; certFile?: string; keyFile?: string } = {};
    if (flags.tlsCa !== undefined) files.caFile = readable("--tls-ca", flags.tlsCa);
    if (flags.tlsCert !== undefined) files.certFile = readable("--tls-cert", flags.tlsCert);
    if (flags.tlsKey !== undefined) files.keyFile = readable("--tls-key", flags.tlsKey);
    options.push(withTls(files));
  }
  return options;
}

/** Connects with the flags; a failed dial is exit 1 `could not connect to <servers>: <why>`. */
export async function openConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
): Promise<Connection> {
  const options = connectOptions(flags, env);
  try {
    return await connect(...options);
  } catch (err) {
    const failed = findJetrouteError(err, ErrorCode.ConnectFailed);
    if (failed) {
      throw new OperationError(connectFailureText(serversOf(flags, env), failed.cause), {
        cause: err,
      });
    }
    throw err;
  }
}

/** nats.js's reasons, in words: `ECONNREFUSED` says less than "connection refused". */
function connectFailureText(servers: string[], cause: unknown): string {
  const where = `could not connect to ${servers.join(", ")}`;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code === "ECONNREFUSED" || /ECONNREFUSED/.test(message))
    return `${where}: connection refused`;
  if (/authorization|authentication/i.test(message)) return `${where}: authorization violation`;
  if (/timeout/i.test(message) || (cause as { name?: string })?.name === "TimeoutError") {
    return `${where}: timed out`;
  }
  return `${where}: ${message.split("\n")[0]}`;
}
