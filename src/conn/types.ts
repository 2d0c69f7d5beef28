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
  health(): Promise<ConnectionHealth>;
  /** The server's version as `[major, minor, patch]`, for feature gates. */
  serverVersion(): readonly [number, number, number];
  /** Drains subscriptions, flushes, and closes. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the connection is closed, with the error that closed it, if any. */
  closed(): Promise<Error | undefined>;
}
