import { type Duration, toTimerMillis } from "../duration/index.js";
import { ErrInvalidDuration, ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { type Logger, silentLogger } from "../logger/index.js";
import { type ConnAuth, checkAuth, nonEmpty } from "./auth.js";

/** TLS files for the connection; paths are read by nats.js when it dials. */
export interface TlsFiles {
  /** CA bundle that signed the server's certificate. */
  caFile?: string;
  /** Client certificate, for mutual TLS. */
  certFile?: string;
  /** Client private key, for mutual TLS. */
  keyFile?: string;
}

/** What the `withX` connection options record. Values are checked once, by `connect`. */
export interface ConnDraft {
  servers?: unknown;
  name?: unknown;
  token?: unknown;
  userPass?: { user: unknown; pass: unknown };
  nkeySeed?: unknown;
  credsFile?: unknown;
  tls?: unknown;
  maxReconnectAttempts?: unknown;
  reconnectWait?: unknown;
  connectTimeout?: unknown;
  pingInterval?: unknown;
  maxPingsOut?: unknown;
  asyncTraces?: unknown;
  logger?: unknown;
}

/** A connection option, given to `connect(...options)`. */
export type ConnOption = (draft: ConnDraft) => void;

/** The validated, frozen connection settings. */
export interface ConnConfig {
  readonly servers: readonly string[];
  readonly name: string | undefined;
  readonly auth: ConnAuth;
  readonly tls: Readonly<TlsFiles> | undefined;
  readonly maxReconnectAttempts: number;
  readonly reconnectWaitMs: number;
  readonly connectTimeoutMs: number | undefined;
  readonly pingIntervalMs: number;
  readonly maxPingsOut: number;
  readonly asyncTraces: boolean;
  readonly logger: Logger;
}

const DEFAULT_SERVER = "nats://127.0.0.1:4222";
const DEFAULT_RECONNECT_WAIT: Duration = "2s";
/** See {@link withPingInterval}: 10 s x (2 + 1) = 30 s to notice a dead flow. */
export const DEFAULT_PING_INTERVAL_MS = 10_000;
/** See {@link withMaxPingsOut}. */
export const DEFAULT_MAX_PINGS_OUT = 2;

/**
 * Servers to dial, tried in order on first connect and on reconnect.
 * @default `NATS_URL` (comma-separated) when set, else `nats://127.0.0.1:4222`
 */
export function withServers(...urls: string[]): ConnOption {
  return (d) => {
    d.servers = urls;
  };
}

/** The client name the server shows in `/connz`. @default nats.js's default (none) */
export function withName(name: string): ConnOption {
  return (d) => {
    d.name = name;
  };
}

/** Authenticate with a token. @default no authentication */
export function withToken(token: string): ConnOption {
  return (d) => {
    d.token = token;
  };
}

/** Authenticate with a user and password. @default no authentication */
export function withUserPass(user: string, pass: string): ConnOption {
  return (d) => {
    d.userPass = { user, pass };
  };
}

/** Authenticate with an nkey seed (`SU...`). @default no authentication */
export function withNkeySeed(seed: string): ConnOption {
  return (d) => {
    d.nkeySeed = seed;
  };
}

/** Authenticate with a `.creds` file (JWT + seed), read once at connect. @default no authentication */
export function withCredsFile(path: string): ConnOption {
  return (d) => {
    d.credsFile = path;
  };
}

/**
 * Dial with TLS, and refuse a server that does not offer it. The files are optional:
 * `withTls({})` requires TLS and verifies the server with the system's CAs.
 * @default plain TCP unless the server requires TLS
 * @example withTls({}) // a `tls://` URL: never fall back to plain TCP
 */
export function withTls(files: TlsFiles): ConnOption {
  return (d) => {
    d.tls = files;
  };
}

/** Reconnect attempts per server before giving up; `-1` retries forever. @default -1 */
export function withMaxReconnectAttempts(n: number): ConnOption {
  return (d) => {
    d.maxReconnectAttempts = n;
  };
}

/** Pause between reconnect attempts to the same server. @default "2s" */
export function withReconnectWait(wait: Duration): ConnOption {
  return (d) => {
    d.reconnectWait = wait;
  };
}

/** How long the first connect may take. @default nats.js's 20 s */
export function withConnectTimeout(timeout: Duration): ConnOption {
  return (d) => {
    d.connectTimeout = timeout;
  };
}

/**
 * How often the client PINGs the server to check the TCP flow still carries traffic. A flow that
 * died silently (a NAT or firewall dropped it, a proxy stopped forwarding) gives no error: only
 * unanswered PINGs reveal it. nats.js declares the connection stale, drops the socket and
 * reconnects at the tick after {@link withMaxPingsOut} PINGs are unanswered, so detection takes
 * at most `interval x (maxPingsOut + 1)`: 30 s with the defaults, where nats.js's own 2 min x 2
 * left a route stalled for 4-6 min. The cost is one PING/PONG (6 bytes each way) per interval.
 * Must be longer than 0.
 * @default "10s"
 */
export function withPingInterval(interval: Duration): ConnOption {
  return (d) => {
    d.pingInterval = interval;
  };
}

/**
 * How many PINGs may be unanswered before the connection is declared stale and reconnected
 * (see {@link withPingInterval}). An integer >= 1; lower detects sooner, higher tolerates a
 * server or network that stalls for longer than one interval.
 * @default 2
 */
export function withMaxPingsOut(n: number): ConnOption {
  return (d) => {
    d.maxPingsOut = n;
  };
}

/**
 * nats.js's async traces: two `Error`s captured per request and JetStream publish, so that a
 * failure points at the caller. jetroute turns them off by default: its own typed errors are
 * raised in the caller's async chain (V8 reports those frames at no cost) and carry nats.js's
 * error as `cause`, and the two captures were most of a publish's CPU (a JetStream publish is
 * ~1.6x faster without them on the benchmark machine). Turn them on to see where inside
 * nats.js a failure began.
 * @default false
 */
export function withAsyncTraces(enabled: boolean): ConnOption {
  return (d) => {
    d.asyncTraces = enabled;
  };
}

/** Applies defaults, then options, then validates everything once. */
export function resolveConnConfig(options: readonly ConnOption[]): ConnConfig {
  const draft: ConnDraft = {};
  for (const option of options) {
    if (typeof option !== "function") {
      throw new ErrInvalidOption(invalidValueMessage("connect option", option, "a ConnOption"));
    }
    option(draft);
  }
  const config: ConnConfig = {
    servers: checkServers(draft.servers ?? defaultServers()),
    name: draft.name === undefined ? undefined : nonEmpty("withName", draft.name),
    auth: checkAuth(draft),
    tls: draft.tls === undefined ? undefined : checkTls(draft.tls),
    maxReconnectAttempts: checkAttempts(draft.maxReconnectAttempts ?? -1),
    reconnectWaitMs: toTimerMillis(
      draft.reconnectWait ?? DEFAULT_RECONNECT_WAIT,
      "withReconnectWait",
    ),
    connectTimeoutMs:
      draft.connectTimeout === undefined ? undefined : checkTimeout(draft.connectTimeout),
    pingIntervalMs: checkPingInterval(draft.pingInterval ?? DEFAULT_PING_INTERVAL_MS),
    maxPingsOut: checkMaxPingsOut(draft.maxPingsOut ?? DEFAULT_MAX_PINGS_OUT),
    asyncTraces: checkBoolean("withAsyncTraces", draft.asyncTraces ?? false),
    logger: checkLogger(draft.logger ?? silentLogger()),
  };
  return Object.freeze(config);
}

function defaultServers(): string[] {
  const env = process.env.NATS_URL?.trim();
  if (!env) return [DEFAULT_SERVER];
  return env
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function checkServers(value: unknown): readonly string[] {
  const expected = 'one or more server URLs such as "nats://127.0.0.1:4222"';
  if (!Array.isArray(value) || value.length === 0) {
    throw new ErrInvalidOption(invalidValueMessage("withServers", value, expected));
  }
  for (const url of value) {
    if (!isServerUrl(url)) {
      throw new ErrInvalidOption(invalidValueMessage("withServers", url, expected));
    }
  }
  return Object.freeze([...(value as string[])]);
}

function isServerUrl(url: unknown): boolean {
  if (typeof url !== "string" || url.length === 0 || /\s/.test(url)) return false;
  try {
    // nats.js accepts bare `host:port`; parse it the way it will be dialled.
    const parsed = new URL(url.includes("://") ? url : `nats://${url}`);
    return parsed.hostname.length > 0;
  } catch {
    return false;
  }
}

function checkTls(value: unknown): Readonly<TlsFiles> {
  const expected = "an object with optional caFile, certFile, keyFile paths";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ErrInvalidOption(invalidValueMessage("withTls", value, expected));
  }
  const files: TlsFiles = {};
  for (const [key, path] of Object.entries(value)) {
    if (key !== "caFile" && key !== "certFile" && key !== "keyFile") {
      throw new ErrInvalidOption(invalidValueMessage("withTls", value, expected));
    }
    if (path === undefined) continue;
    files[key] = nonEmpty(`withTls ${key}`, path);
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new ErrInvalidOption(
      invalidValueMessage("withTls", value, "certFile and keyFile given together"),
    );
  }
  return Object.freeze(files);
}

function checkAttempts(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -1) {
    throw new ErrInvalidOption(
      invalidValueMessage("withMaxReconnectAttempts", value, "an integer >= -1 (-1 = forever)"),
    );
  }
  return value;
}

function checkTimeout(value: unknown): number {
  const ms = toTimerMillis(value, "withConnectTimeout");
  if (ms === 0) {
    throw new ErrInvalidDuration(
      invalidValueMessage("withConnectTimeout", value, "a duration longer than 0"),
    );
  }
  return ms;
}

function checkPingInterval(value: unknown): number {
  const ms = toTimerMillis(value, "withPingInterval");
  // nats.js reads 0 as "use my default" (2 min): refuse it rather than let it mean that
  if (ms === 0) {
    throw new ErrInvalidDuration(
      invalidValueMessage("withPingInterval", value, "a duration longer than 0"),
    );
  }
  return ms;
}

function checkMaxPingsOut(value: unknown): number {
  // as with the interval, nats.js would read 0 as its default of 2
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ErrInvalidOption(invalidValueMessage("withMaxPingsOut", value, "an integer >= 1"));
  }
  return value;
}

function checkLogger(value: unknown): Logger {
  const methods = ["debug", "info", "warn", "error", "child"] as const;
  const ok =
    typeof value === "object" &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === "function");
  if (!ok) {
    throw new ErrInvalidOption(
      invalidValueMessage("withLogger", value, "a pino-compatible Logger"),
    );
  }
  return value as Logger;
}

function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  throw new ErrInvalidOption(invalidValueMessage(option, value, "true or false"));
}
