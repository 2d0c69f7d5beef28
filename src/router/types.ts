import type { InboxSpec } from "../inbox/types.js";
import type { Logger } from "../logger/index.js";
import type { StreamPosition } from "../position/index.js";
import type { Producer } from "../producer/types.js";
import type { SchemaIssue } from "../schema/issues.js";

/** A message as a handler sees it, whatever the route kind. */
export interface Message {
  readonly subject: string;
  /** The raw payload. */
  readonly data: Uint8Array;
  /** The payload as UTF-8 text. */
  string(): string;
  /**
   * The payload parsed as JSON; throws ErrDecode when it is not JSON. Thrown out of a handler it
   * follows the route's error policy (retried then dead-lettered, or dead-lettered at once with
   * "terminate"); catch it and `return reject(...)` to dead-letter a malformed payload at once.
   */
  json<T = unknown>(): T;
  /**
   * A header's first value, or undefined. The name is matched exactly first, then ignoring
   * case (NATS header names are case-sensitive on the wire; `headers` keeps them as sent).
   */
  header(name: string): string | undefined;
  /** All headers as name -> values (empty when the message has none). */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** 1 on the first delivery; always 1 on core NATS routes. */
  readonly deliveryCount: number;
  /** The stream sequence; undefined on core NATS routes. */
  readonly streamSequence: number | undefined;
  /** When the message was stored (JetStream) or received (core). */
  readonly timestamp: Date;
  /** The reply subject of a request, if any. */
  readonly replyTo: string | undefined;
}

/** What a handler gets besides the message. */
export interface Context {
  /**
   * Aborted when the handler timeout fires or the shutdown grace period ends; `signal.reason`
   * is an ErrHandlerTimeout or ErrShutdownTimeout.
   */
  readonly signal: AbortSignal;
  /** A child logger bound to route, stream sequence and delivery count. */
  readonly logger: Logger;
  /** The route's name. */
  readonly route: string;
  /** Publishes through the broker's connection (JetStream or core, see Producer). */
  readonly producer: Producer;
}

/** Handler results that drive ack/nak/term. Build them with `ack()`, `retry()`, `reject()`. */
export type Outcome =
  | { readonly [OUTCOME]: true; readonly kind: "ack" }
  | { readonly [OUTCOME]: true; readonly kind: "retry"; readonly delayMs: number | undefined }
  | {
      readonly [OUTCOME]: true;
      readonly kind: "reject";
      readonly reason: string;
      /** For request-reply routes: the `Nats-Service-Error-Code`. @default 500 */
      readonly code: number;
      /** Validation issues (never empty when present): `Jetroute-Schema-Issues` on the dead letter or reply. */
      readonly issues?: readonly SchemaIssue[];
    };

/** Brands outcomes so a handler's ordinary return value (a reply body) is never taken for one. */
export const OUTCOME: unique symbol = Symbol.for("jetroute.outcome");

/**
 * A route's handler. JetStream and core routes ignore a non-outcome return value (ack);
 * request-reply routes encode it with the route's codec as the reply.
 */
export type Handler<Result = unknown> = (
  msg: Message,
  ctx: Context,
) => Promise<Outcome | Result | undefined>;

/** Wraps a handler (Go's `func(next HandlerFunc) HandlerFunc`); works on every route kind. */
export type Middleware = (next: Handler) => Handler;

/** Delay before the next delivery, as a function of the delivery count that just failed (1-based). */
export type BackoffStrategy = (deliveryCount: number) => number;

/** What happens to a thrown error (not a returned outcome) on a JetStream route. */
export type ErrorPolicy = "retry" | "terminate";

/** Route kinds. JetStream is the default; the others are core NATS. */
export const RouteKind = {
  JetStream: "jetstream",
  Request: "request",
  Queue: "queue",
  FanOut: "fanout",
} as const;
export type RouteKind = (typeof RouteKind)[keyof typeof RouteKind];

/**
 * Called on every handler failure (a throw, ErrHandlerTimeout included), whatever the policy;
 * not when the shutdown interrupted the handler. It may be async: it is not awaited, and a
 * throw or rejection is caught and logged at error ("onError hook failed").
 */
export type OnError = (err: unknown, msg: Message, ctx: Context) => void | Promise<void>;

/** Fields every route kind has after validation. */
interface BaseRouteSpec {
  readonly name: string;
  readonly handler: Handler;
  /** @default 1 */
  readonly concurrency: number;
  /** Route-level middleware, outermost first. */
  readonly middleware: readonly Middleware[];
  /** Per-message timeout; its expiry aborts ctx.signal. undefined = none. */
  readonly handlerTimeoutMs: number | undefined;
  readonly onError: OnError | undefined;
}

/** A validated, frozen JetStream route. */
export interface JetStreamRouteSpec extends BaseRouteSpec {
  readonly kind: typeof RouteKind.JetStream;
  readonly stream: string;
  /**
   * The subjects consumed (wildcards allowed), none covering another: the consumer's
   * `filter_subject`, or `filter_subjects` when there are several (nats-server 2.10+).
   */
  readonly subjects: readonly string[];
  /** @default the route name */
  readonly durable: string;
  /** @default 5 */
  readonly maxDeliver: number;
  /** @default 30000 */
  readonly ackWaitMs: number;
  /** The pull requests' `idle_heartbeat`, ms. @default 1000 */
  readonly idleHeartbeatMs: number;
  /** @default exponential({ initial: "1s", max: "1m", jitter: 0.2 }) */
  readonly backoff: BackoffStrategy;
  /** Messages pulled ahead of the workers. @default concurrency */
  readonly prefetch: number;
  /**
   * The consumer's `max_ack_pending`: delivered and unacked messages over every process on the
   * durable. @default max(1000, concurrency + prefetch), lowered to the stream's
   * `consumer_limits.max_ack_pending` (2.10+) when that is smaller
   */
  readonly maxAckPending: number;
  /**
   * True when withMaxAckPending gave it: a stream consumer limit below it then fails the route
   * (ErrConsumerConfigRejected) instead of lowering it.
   */
  readonly maxAckPendingSet: boolean;
  /** DLQ subject; undefined = no DLQ (final failures are terminated and logged). */
  readonly dlq: string | undefined;
  /** @default "retry" */
  readonly errorPolicy: ErrorPolicy;
  /** When the durable consumer disappears mid-run: recreate it, or fail the route. @default "recreate" */
  readonly onConsumerLost: "recreate" | "fail";
  /**
   * When the stream is found created again under the same name (sequences restarted): consume
   * it from its first message, or fail the route with ErrStreamRecreated. @default "consume"
   */
  readonly onStreamRecreated: "consume" | "fail";
  /**
   * When the existing durable has a setting the route cannot run with: fail the route with
   * ErrConsumerConfigConflict, or delete and re-create the durable. @default "fail"
   */
  readonly onConsumerConflict: "fail" | "recreate";
  /** Where the durable starts when it is created (withStartAt). @default { kind: "all" } */
  readonly startAt: StreamPosition;
  /** True when withStartAt gave it: only then is an existing durable's other start reported. */
  readonly startAtSet: boolean;
  /** withInbox: the handler runs at most once per message key. @default none */
  readonly inbox: InboxSpec | undefined;
}

/** A validated core request-reply route. */
export interface RequestRouteSpec extends BaseRouteSpec {
  readonly kind: typeof RouteKind.Request;
  readonly subject: string;
  readonly queueGroup: string | undefined;
  /** Requests accepted but waiting for a worker; past it, requests are dropped, logged and counted. */
  readonly maxPending: number;
}

/** A validated core queue-group route (load-balanced). */
export interface QueueRouteSpec extends BaseRouteSpec {
  readonly kind: typeof RouteKind.Queue;
  readonly subject: string;
  readonly queueGroup: string;
  readonly maxPending: number;
}

/** A validated core fan-out route (every subscriber gets every message). */
export interface FanOutRouteSpec extends BaseRouteSpec {
  readonly kind: typeof RouteKind.FanOut;
  readonly subject: string;
  readonly maxPending: number;
}

export type RouteSpec = JetStreamRouteSpec | RequestRouteSpec | QueueRouteSpec | FanOutRouteSpec;
