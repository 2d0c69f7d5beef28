import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import {
  type Authenticator,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/nats-core";
import {
  type NatsConnection,
  type NodeConnectionOptions,
  connect as natsConnect,
  type Status,
} from "@nats-io/transport-node";
import { causeText, ErrConnectFailed, ErrConnectionClosed } from "../errors/index.js";
import { componentLogger, type Logger } from "../logger/index.js";
import type { ConnAuth } from "./auth.js";
import { type ConnConfig, type ConnOption, resolveConnConfig } from "./options.js";
import type { Connection, ConnectionHealth } from "./types.js";

/**
 * How long `health()` waits for the server to answer a PING before it reports
 * `connected: false`: on a flow that died silently no answer ever comes, and a health probe
 * must answer within 2 s (a loopback round trip is well under 1 ms; a slow WAN one ~300 ms).
 */
export const HEALTH_PROBE_TIMEOUT_MS = 1_500;

/**
 * Connects to NATS. Options are validated before anything is dialled; a bad value throws its
 * sentinel (ErrInvalidOption, ErrInvalidDuration). A failed dial throws ErrConnectFailed
 * naming the servers tried, with the nats.js error as `cause`.
 * @example
 * const conn = await connect(withServers("nats://127.0.0.1:4222"), withName("billing"));
 * try {
 *   console.log(await conn.health());
 * } finally {
 *   await conn.close();
 * }
 */
export async function connect(...options: ConnOption[]): Promise<Connection> {
  const config = resolveConnConfig(options);
  let nc: NatsConnection;
  try {
    nc = await natsConnect(natsOptions(config));
  } catch (cause) {
    throw new ErrConnectFailed(
      `could not connect to ${config.servers.join(", ")}: ${causeText(cause)}`,
      { cause },
    );
  }
  return new ConnectionImpl(nc, config);
}

function natsOptions(config: ConnConfig): NodeConnectionOptions {
  const opts: NodeConnectionOptions = {
    servers: [...config.servers],
    maxReconnectAttempts: config.maxReconnectAttempts,
    reconnectTimeWait: config.reconnectWaitMs,
    pingInterval: config.pingIntervalMs,
    maxPingOut: config.maxPingsOut,
    noAsyncTraces: !config.asyncTraces,
  };
  if (config.name !== undefined) opts.name = config.name;
  if (config.connectTimeoutMs !== undefined) opts.timeout = config.connectTimeoutMs;
  if (config.tls !== undefined) opts.tls = { ...config.tls };
  const authenticator = toAuthenticator(config.auth);
  if (authenticator) opts.authenticator = authenticator;
  return opts;
}

function toAuthenticator(auth: ConnAuth): Authenticator | undefined {
  switch (auth.kind) {
    case "none":
      return undefined;
    case "token":
      return tokenAuthenticator(auth.token);
    case "userPass":
      return usernamePasswordAuthenticator(auth.user, auth.pass);
    case "nkey":
      return nkeyAuthenticator(auth.seed);
    case "creds":
      return credsAuthenticator(auth.creds);
  }
}

class ConnectionImpl implements Connection {
  readonly nats: NatsConnection;
  readonly logger: Logger;
  /** Connection events log here, as a `{component:"conn"}` child. */
  readonly #log: Logger;
  readonly jetstream: JetStreamClient;
  #jsm: Promise<JetStreamManager> | undefined;
  #connected = true;
  #closing: Promise<void> | undefined;
  readonly #statusLoop: Promise<void>;

  constructor(nc: NatsConnection, config: ConnConfig) {
    this.nats = nc;
    this.logger = config.logger;
    this.#log = componentLogger(config.logger, "conn");
    this.jetstream = jetstream(nc);
    // nats.js waits for every status iterator to finish before it reports closed, so this
    // loop must keep reading until the iterator ends, which it does at close.
    this.#statusLoop = this.#watchStatus();
    this.#log.info({ server: nc.getServer(), name: config.name }, "connected");
  }

  jetstreamManager(): Promise<JetStreamManager> {
    if (!this.#jsm) {
      const pending = jetstreamManager(this.nats);
      // a failure (e.g. JetStream not enabled yet) must not be cached forever
      pending.catch(() => {
        if (this.#jsm === pending) this.#jsm = undefined;
      });
      this.#jsm = pending;
    }
    return this.#jsm;
  }

  /** Times nats.js reported a "reconnect" since connect. */
  #reconnects = 0;

  async health(): Promise<ConnectionHealth> {
    const connected = this.#connected && !this.nats.isClosed();
    const rttMs = connected ? await this.#probeRtt() : undefined;
    return {
      connected: connected && rttMs !== undefined,
      server: this.nats.getServer(),
      rttMs,
      serverVersion: this.nats.info?.version,
      reconnects: this.#reconnects,
    };
  }

  /** A PING answered within HEALTH_PROBE_TIMEOUT_MS gives the rtt; anything else, undefined. */
  async #probeRtt(): Promise<number | undefined> {
    // On a dead flow the PONG never comes (nats.js rejects it only when the socket drops),
    // so the probe races a timer of its own.
    const probe = this.nats.rtt().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, HEALTH_PROBE_TIMEOUT_MS, undefined);
    });
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async reconnect(): Promise<void> {
    if (this.#closing || this.nats.isClosed() || this.nats.isDraining()) {
      throw new ErrConnectionClosed("cannot reconnect: the connection is closed or closing");
    }
    if (!this.#connected) {
      // already dialling: nats.js would ignore the call, say so instead
      this.#log.debug({}, "reconnect requested while already reconnecting; ignored");
      return;
    }
    this.#log.warn({ server: this.nats.getServer() }, "forcing a reconnect");
    try {
      await this.nats.reconnect();
    } catch (cause) {
      // closed between the check above and the call
      throw new ErrConnectionClosed(`cannot reconnect: ${causeText(cause)}`, { cause });
    }
  }

  serverVersion(): readonly [number, number, number] {
    return parseVersion(this.nats.info?.version);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async closed(): Promise<Error | undefined> {
    const err = await this.nats.closed();
    return err instanceof Error ? err : undefined;
  }

  async #close(): Promise<void> {
    if (this.nats.isClosed()) {
      // closed by the server or by exhausted reconnects; nothing left to drain
    } else if (this.nats.isDraining()) {
      await this.nats.closed();
    } else if (!this.#connected) {
      // A drain must flush to a server; while reconnecting it would only wait and then fail.
      this.#log.warn({}, "closing while disconnected; unsent messages are dropped");
      await this.nats.close();
    } else if ((await this.#probeRtt()) === undefined) {
      // a drain on a flow that died silently waits for the PINGs to give up (up to 30 s)
      this.#log.warn({}, "server not answering; closing without a drain");
      await this.nats.close();
    } else {
      try {
        await this.nats.drain();
      } catch (err) {
        this.#log.warn({ err }, "drain failed; closing");
        if (!this.nats.isClosed()) await this.nats.close();
      }
    }
    await this.#statusLoop;
    this.#log.info({}, "closed");
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const status of this.nats.status()) this.#logStatus(status);
    } catch (err) {
      this.#log.error({ err }, "status watcher failed");
    }
    this.#connected = false;
  }

  #logStatus(status: Status): void {
    switch (status.type) {
      case "disconnect":
        this.#connected = false;
        this.#log.warn({ event: status.type, server: status.server }, "disconnected");
        return;
      case "reconnect":
        this.#connected = true;
        this.#reconnects++;
        this.#log.info({ event: status.type, server: status.server }, "reconnected");
        return;
      case "error":
        this.#log.error({ event: status.type, err: status.error }, "connection error");
        return;
      case "staleConnection":
        // nats.js drops the socket next and a "disconnect" follows
        this.#log.warn(
          { event: status.type },
          "no PONG for the last pings; dropping the connection",
        );
        return;
      case "close":
        this.#connected = false;
        this.#log.debug({ event: status.type }, "connection closed");
        return;
      case "slowConsumer":
        this.#log.debug(
          { event: status.type, subject: status.sub.getSubject(), pending: status.pending },
          "connection status",
        );
        return;
      default:
        this.#log.debug({ event: status.type, ...withoutType(status) }, "connection status");
    }
  }
}

function withoutType(status: Status): Record<string, unknown> {
  const { type: _type, ...rest } = status as Status & Record<string, unknown>;
  return rest;
}

/** `"2.9.10"` -> `[2, 9, 10]`; pre-release suffixes are dropped, unknown parts are 0. */
export function parseVersion(version: string | undefined): readonly [number, number, number] {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version ?? "");
  return Object.freeze([Number(m?.[1] ?? 0), Number(m?.[2] ?? 0), Number(m?.[3] ?? 0)] as const);
}

/** A server version as `[major, minor, patch]` (Connection.serverVersion). */
export type ServerVersion = readonly [number, number, number];

/** True when `version` is `min` or later: `versionAtLeast([2, 10, 27], [2, 10, 0])`. */
export function versionAtLeast(version: ServerVersion, min: ServerVersion): boolean {
  for (let i = 0; i < 3; i++) {
    const a = version[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
