import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../logger/index.js";

/** What `health()` reports. */
export interface ConnectionHealth {
  readonly connected: boolean;
  /** `host:port` of the server currently connected to. */
  readonly server: string;
  /** Round trip to the server in milliseconds; undefined when not connected. */
  readonly rttMs: number | undefined;
  /** Server version string, e.g. `2.9.10`. */
  readonly serverVersion: string | undefined;
  /** Times the connection was re-established (nats.js "reconnect" events) since `connect()`. */
  readonly reconnects: number;
}

/**
 * A NATS connection with JetStream handles, owned by jetroute. `nats` is the raw nats.js
 * connection for anything jetroute does not wrap.
 */
export interface Connection {
  readonly nats: NatsConnection;
  /** The logger given to `connect` (not the connection's own `{component:"conn"}` child): other
   * components take their own child of it. */
  readonly logger: Logger;
  /** The JetStream client (one per connection, created once). */
  readonly jetstream: JetStreamClient;
  /** The JetStream manager (created on first call, then cached). */
  jetstreamManager(): Promise<JetStreamManager>;
  /**
   * Whether the connection is up and the server answers a PING now. Resolves within
   * `HEALTH_PROBE_TIMEOUT_MS` (1500 ms) plus scheduling, never rejects: an unanswered PING (a
   * dead TCP flow nats.js has not noticed yet), a disconnect or a closed connection all give
   * `connected: false` and `rttMs: undefined`.
   */
  health(): Promise<ConnectionHealth>;
  /**
   * Forces nats.js to drop the socket and dial again (nats.js `nc.reconnect()`), for a caller
   * that has evidence the flow is dead before the PINGs prove it: the JetStream engine calls it
   * when a pull's idle heartbeats stay missing. Resolves once the old socket is dropped; the
   * dial runs in the background (watch `health()` or the logs' `reconnected`). Subscriptions
   * are restored by nats.js; requests and pulls in flight on the old socket are lost.
   * A no-op while already disconnected (nats.js is dialling anyway).
   * @throws ErrConnectionClosed when the connection is closed, draining or closing.
   */
  reconnect(): Promise<void>;
  /** The server's version as `[major, minor, patch]`, for feature gates. */
  serverVersion(): readonly [number, number, number];
  /**
   * Drains subscriptions, flushes, and closes. Idempotent. While disconnected, or when the
   * server does not answer a PING within `HEALTH_PROBE_TIMEOUT_MS` (a dead flow), closes at
   * once without a drain: unsent messages are dropped (logged at warn).
   */
  close(): Promise<void>;
  /** Resolves when the connection is closed, with the error that closed it, if any. */
  closed(): Promise<Error | undefined>;
}
