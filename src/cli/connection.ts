import { accessSync, constants, readFileSync, statSync } from "node:fs";
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

/** `--server a --server b,c` -> ["a", "b", "c"]; `--server ""` is kept, to be refused. */
function collectServers(value: string, previous: string[] | undefined): string[] {
  const urls = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...(urls.length === 0 ? [value] : urls)];
}

// `scheme://user:password@host`: the user info, up to the last `@` before the host.
const USERINFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?([^/]*)@(?=[^@/]*$|[^@]*\/)/;

/** A URL for messages: its user info (a password, a token) is never shown. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, (_m, scheme: string | undefined) => `${scheme ?? ""}***@`);
}

/** Credentials written in a server URL (`nats://user:password@host`, `nats://token@host`). */
type UrlAuth = { kind: "userPass"; user: string; pass: string } | { kind: "token"; token: string };

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Splits `nats://user:pass@host` into the URL nats.js can dial and the credentials in it. */
function splitUserInfo(url: string): { url: string; auth?: UrlAuth } {
  const m = USERINFO.exec(url);
  if (!m) return { url };
  const info = m[2] ?? "";
  const bare = `${m[1] ?? ""}${url.slice(m[0].length)}`;
  const colon = info.indexOf(":");
  if (colon === -1)
    return info.length === 0
      ? { url: bare }
      : { url: bare, auth: { kind: "token", token: decode(info) } };
  return {
    url: bare,
    auth: {
      kind: "userPass",
      user: decode(info.slice(0, colon)),
      pass: decode(info.slice(colon + 1)),
    },
  };
}

/** The servers to dial, as given (with any credentials taken out) and as shown in messages. */
export interface ResolvedServers {
  /** `--server` or `NATS_URL`: where they came from, for messages. */
  readonly source: string;
  readonly urls: readonly string[];
  readonly shown: readonly string[];
  readonly auth: UrlAuth | undefined;
  /** Some URL has the `tls://` scheme: the connection must use TLS. */
  readonly tls: boolean;
}

export function resolveServers(flags: ConnectionFlags, env: NodeJS.ProcessEnv): ResolvedServers {
  const source = flags.server && flags.server.length > 0 ? "--server" : "NATS_URL";
  const given = serversOf(flags, env);
  const split = given.map(splitUserInfo);
  const auths = split.flatMap((s) => (s.auth ? [JSON.stringify(s.auth)] : []));
  if (new Set(auths).size > 1) {
    throw new UsageError(`the URLs in ${source} carry different credentials; give one user`);
  }
  const first = split.find((s) => s.auth)?.auth;
  return {
    source,
    urls: split.map((s) => s.url),
    shown: given.map(redactUrl),
    auth: first,
    tls: split.some((s) => /^tls:\/\//i.test(s.url)),
  };
}

/** Adds the connection flags to the root program. */
export function addConnectionOptions(program: Command): Command {
  return program
    .option(
      "-s, --server <url>",
      `NATS server URL; repeat or comma-separate for several; tls:// requires TLS, user:password@host logs in (default: $NATS_URL, else ${DEFAULT_SERVER})`,
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
function checkServerUrl(source: string, url: string, shown: string): void {
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
      `${source} must be a server URL such as nats://127.0.0.1:4222, got ${JSON.stringify(shown)}`,
    );
  }
}

function readable(flag: string, path: string): string {
  let ok: boolean;
  try {
    accessSync(path, constants.R_OK);
    // a directory is readable too, and then refused deep in the library by its option's name
    ok = statSync(path).isFile();
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`${flag} ${JSON.stringify(path)}: no such readable file`);
  return path;
}

/**
 * The flags as `connect(...)` options. Bad combinations are usage errors naming the flags;
 * every value is checked again by `connect`, whose refusals also exit 2.
 */
export function connectOptions(flags: ConnectionFlags, env: NodeJS.ProcessEnv): ConnOption[] {
  const resolved = resolveServers(flags, env);
  const auth = [
    resolved.auth !== undefined && `credentials in the ${resolved.source} URL`,
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

  resolved.urls.forEach((url, i) => {
    checkServerUrl(resolved.source, url, resolved.shown[i] ?? "");
  });

  const options: ConnOption[] = [
    withServers(...resolved.urls),
    withName("jetroute-cli"),
    withConnectTimeout(timeoutMs),
    // A CLI must not wait forever for a server that went away mid-command.
    withMaxReconnectAttempts(3),
    withReconnectWait("1s"),
  ];
  if (resolved.auth?.kind === "userPass") {
    options.push(withUserPass(resolved.auth.user, resolved.auth.pass));
  }
  if (resolved.auth?.kind === "token") options.push(withToken(resolved.auth.token));
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
  } else if (resolved.tls) {
    // nats.js dials `tls://` like `nats://` and goes plain when the server offers no TLS:
    // the scheme asks for TLS, so require it (the system's CAs verify the server)
    options.push(withTls({}));
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
      throw new OperationError(connectFailureText(resolveServers(flags, env), failed.cause), {
        cause: err,
      });
    }
    throw err;
  }
}

/** nats.js's reasons, in words: `ECONNREFUSED` says less than "connection refused". */
function connectFailureText(servers: ResolvedServers, cause: unknown): string {
  const where = `could not connect to ${servers.shown.join(", ")}`;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code === "ECONNREFUSED" || /ECONNREFUSED/.test(message))
    return `${where}: connection refused`;
  if (/authorization|authentication/i.test(message)) return `${where}: authorization violation`;
  if (/does not support 'tls'|tls.*not available/i.test(message)) {
    return `${where}: the server does not offer TLS${servers.tls ? " (a tls:// URL requires it)" : ""}`;
  }
  if (/timeout/i.test(message) || (cause as { name?: string })?.name === "TimeoutError") {
    return `${where}: timed out`;
  }
  return `${where}: ${message.split("\n")[0]}`;
}
