/**
 * Where a route is in its life, as `broker.health()` reports it:
 * - `idle`: registered, the broker not run yet;
 * - `starting`: provisioning (stream and consumer checks, subscription);
 * - `running`: consuming;
 * - `stalled` (JetStream): its pull heard no idle heartbeat for two beats while workers are
 *   free: the server, the consumer leader or the flow is not answering;
 * - `recovering` (JetStream): its durable was lost or must be re-read, and is being provisioned
 *   again;
 * - `draining`: the broker is stopping; in-flight handlers finish;
 * - `stopped`: drained;
 * - `failed`: stopped by an error (`lastError`).
 */
export type RouteState =
  | "idle"
  | "starting"
  | "running"
  | "stalled"
  | "recovering"
  | "draining"
  | "stopped"
  | "failed";

/** The broker's own state: `idle` before `run()`, then as its routes (failed once one failed). */
export type BrokerState = "idle" | "starting" | "running" | "draining" | "stopped" | "failed";

/** An error a route met, and when. */
export interface RouteError {
  /** The error's message (for a route failure, the cause's). */
  readonly message: string;
  /** The jetroute error code, when it is one (`ERR_HANDLER_TIMEOUT`, ...). */
  readonly code: string | undefined;
  readonly at: Date;
}

/**
 * The durable consumer's counts as the server reported them (JetStream consumer info), read on
 * the broker's health interval, never per message.
 */
export interface ConsumerLag {
  /** Messages in the stream the consumer has not delivered yet (`num_pending`). */
  readonly pending: number;
  /** Delivered and not acknowledged yet, over every process on the durable (`num_ack_pending`). */
  readonly ackPending: number;
  /** Messages delivered more than once and not acknowledged yet (`num_redelivered`). */
  readonly redelivered: number;
  /** Pull requests waiting at the server (`num_waiting`). */
  readonly waiting: number;
  /** When the server answered. */
  readonly readAt: Date;
}

/** One route in `broker.health()`. */
export interface RouteHealth {
  readonly kind: "jetstream" | "request" | "queue" | "fanout";
  readonly state: RouteState;
  /** Since when the route is in `state`. */
  readonly since: Date;
  /** The last handler failure or route error; undefined when none happened. */
  readonly lastError: RouteError | undefined;
  /** Handlers running now. */
  readonly inFlight: number;
  /** JetStream: messages held (running + waiting for a worker); undefined on core routes. */
  readonly held: number | undefined;
  /** JetStream: the consumer's lag, once read; undefined before the first read and on core routes. */
  readonly consumer: ConsumerLag | undefined;
}

/** The connection part of `broker.health()`. */
export interface ConnectionStatus {
  readonly connected: boolean;
  /** `host:port` of the server connected to. */
  readonly server: string;
  /** PING round trip, ms; undefined when not connected. */
  readonly rttMs: number | undefined;
  readonly serverVersion: string | undefined;
  /** Times the connection was re-established since `connect()`. */
  readonly reconnects: number;
}

/** What `broker.health()` resolves with. */
export interface BrokerHealth {
  readonly state: BrokerState;
  /** Not failed: what a liveness probe (`/healthz`) asks. */
  readonly live: boolean;
  /** Connected and every route `running`: what a readiness probe (`/readyz`) asks. */
  readonly ready: boolean;
  /** Why not ready, one line each (empty when ready). */
  readonly notReady: readonly string[];
  readonly connection: ConnectionStatus;
  readonly routes: Readonly<Record<string, RouteHealth>>;
}
