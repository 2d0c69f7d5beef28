import type { Duration } from "../duration/index.js";
import type { StartAt } from "../position/index.js";
import type { BackoffStrategy, ErrorPolicy, Middleware, OnError } from "./types.js";

/**
 * What route options write into. Values are `unknown` because options only record: a bad value
 * is reported, with the route's name, by buildRouteSpec. `set` lists the option names used, so a
 * core route can reject a JetStream-only option by name.
 */
export interface RouteDraft {
  readonly values: Map<RouteOptionName, unknown>;
  readonly set: Set<RouteOptionName>;
  /** withMiddleware appends; outermost first. */
  readonly middleware: unknown[];
}

/** A route option: `route(name, handler, withStream("ORDERS"), ...)`. Never throws. */
export type RouteOption = (draft: RouteDraft) => void;

/** Every route option, by the name of its function (used in error messages). */
export const RouteOptionName = {
  Stream: "withStream",
  Subject: "withSubject",
  Durable: "withDurable",
  Concurrency: "withConcurrency",
  Prefetch: "withPrefetch",
  MaxAckPending: "withMaxAckPending",
  MaxDeliver: "withMaxDeliver",
  AckWait: "withAckWait",
  Backoff: "withBackoff",
  DLQ: "withDLQ",
  ErrorPolicy: "withErrorPolicy",
  OnError: "withOnError",
  HandlerTimeout: "withHandlerTimeout",
  Middleware: "withMiddleware",
  OnConsumerLost: "withOnConsumerLost",
  IdleHeartbeat: "withIdleHeartbeat",
  OnStreamRecreated: "withOnStreamRecreated",
  OnConsumerConflict: "withOnConsumerConflict",
  StartAt: "withStartAt",
  RequestReply: "withRequestReply",
  QueueGroup: "withQueueGroup",
  FanOut: "withFanOut",
  MaxPending: "withMaxPending",
  // inbox
  Inbox: "withInbox",
} as const;
export type RouteOptionName = (typeof RouteOptionName)[keyof typeof RouteOptionName];

/** Options that only make sense on a JetStream route. */
export const JETSTREAM_ONLY: readonly RouteOptionName[] = [
  RouteOptionName.Stream,
  RouteOptionName.Durable,
  RouteOptionName.MaxDeliver,
  RouteOptionName.AckWait,
  RouteOptionName.Backoff,
  RouteOptionName.DLQ,
  RouteOptionName.ErrorPolicy,
  RouteOptionName.Prefetch,
  RouteOptionName.MaxAckPending,
  RouteOptionName.OnConsumerLost,
  RouteOptionName.IdleHeartbeat,
  RouteOptionName.OnStreamRecreated,
  RouteOptionName.OnConsumerConflict,
  RouteOptionName.StartAt,
  // inbox
  RouteOptionName.Inbox,
];

/** Options that only make sense on a core NATS route. */
export const CORE_ONLY: readonly RouteOptionName[] = [RouteOptionName.MaxPending];

/** A fresh, empty draft. */
export function newRouteDraft(): RouteDraft {
  return { values: new Map(), set: new Set(), middleware: [] };
}

function record(name: RouteOptionName, value: unknown): RouteOption {
  return (draft) => {
    draft.set.add(name);
    draft.values.set(name, value);
  };
}

/** The JetStream stream the route consumes from (it must exist or be ensured). Required for JetStream routes. */
export function withStream(name: string): RouteOption {
  return record(RouteOptionName.Stream, name);
}

/**
 * The subject (wildcards allowed) the route consumes; its consumer's `filter_subject`. Required.
 * A JetStream route may consume several subjects with one durable, `withSubject("a.x", "a.y")`:
 * the consumer's `filter_subjects`, which needs nats-server 2.10+ (older servers fail the route
 * at start with ErrServerUnsupported). None may cover another (`a.*` and `a.x`). Core routes
 * take one subject.
 */
export function withSubject(subject: string, ...more: string[]): RouteOption {
  return record(RouteOptionName.Subject, more.length === 0 ? subject : [subject, ...more]);
}

/**
 * The durable consumer name; no whitespace, `.`, `*`, `>`, `/` or `\`.
 * @default the route name
 */
export function withDurable(name: string): RouteOption {
  return record(RouteOptionName.Durable, name);
}

/**
 * Handlers running at once for this route, an integer from 1 to 10000.
 * @default 1
 */
export function withConcurrency(n: number): RouteOption {
  return record(RouteOptionName.Concurrency, n);
}

/**
 * Messages pulled ahead of the workers (an integer >= 1). Keep it small relative to ack wait:
 * the ack clock runs while a message waits in the client buffer.
 * @default the route's concurrency
 */
export function withPrefetch(n: number): RouteOption {
  return record(RouteOptionName.Prefetch, n);
}

/**
 * The most messages the durable consumer may have delivered and not yet acknowledged, across
 * every process consuming it: the server's `max_ack_pending`, an integer >= 1. Each process
 * holds at most `concurrency + prefetch` by itself, so the default lets several instances of a
 * service share the durable at full speed; set it lower to cap the work in progress of all of
 * them together (a downstream that takes only so much), or to `concurrency + prefetch` for a
 * route that only ever runs in one process.
 * @default the larger of 1000 (the server's own default) and `concurrency + prefetch`
 */
export function withMaxAckPending(n: number): RouteOption {
  return record(RouteOptionName.MaxAckPending, n);
}

/**
 * Deliveries before a message is dead-lettered: an integer >= 1, or -1 for unlimited.
 * @default 5
 */
export function withMaxDeliver(n: number): RouteOption {
  return record(RouteOptionName.MaxDeliver, n);
}

/**
 * The `idle_heartbeat` of the engine's pull requests: while a pull waits with nothing to send,
 * the server sends a heartbeat this often. Two silent beats on an open pull re-issue it (a dead
 * stream leader, a lost request); three force the connection to reconnect (a dead TCP flow). A
 * shorter beat notices sooner, for one small status message per beat per idle route. From
 * 100ms to 15s (half the pull's 30 s expiry).
 * @default "1s"
 */
export function withIdleHeartbeat(duration: Duration): RouteOption {
  return record(RouteOptionName.IdleHeartbeat, duration);
}

/**
 * How long the server waits for an ack before redelivering; at least 1s.
 * @default "30s"
 */
export function withAckWait(duration: Duration): RouteOption {
  return record(RouteOptionName.AckWait, duration);
}

/**
 * Delay before redelivery after a failure, by delivery count.
 * @default exponential({ initial: "1s", max: "1m", jitter: 0.2 })
 */
export function withBackoff(strategy: BackoffStrategy): RouteOption {
  return record(RouteOptionName.Backoff, strategy);
}

/**
 * Where messages go after their last delivery fails or on `reject()`: a literal subject (no
 * wildcards) bound to a stream, and not one this route's own subject matches.
 * @default none: final failures are terminated and logged
 */
export function withDLQ(subject: string): RouteOption {
  return record(RouteOptionName.DLQ, subject);
}

/**
 * What a thrown error (not a returned outcome) does on a JetStream route: retry with backoff,
 * or terminate (dead-letter) at once.
 * @default "retry"
 */
export function withErrorPolicy(policy: ErrorPolicy): RouteOption {
  return record(RouteOptionName.ErrorPolicy, policy);
}

/**
 * Called on every thrown handler error, whatever the policy (for reporting; must not throw).
 * @default none
 */
export function withOnError(fn: OnError): RouteOption {
  return record(RouteOptionName.OnError, fn);
}

/**
 * Per-message limit; when it passes, ctx.signal aborts with ErrHandlerTimeout and the message
 * counts as failed. Must be more than 0.
 * @default none
 */
export function withHandlerTimeout(duration: Duration): RouteOption {
  return record(RouteOptionName.HandlerTimeout, duration);
}

/**
 * Route-level middleware, outermost first; repeated calls append. Runs inside broker middleware.
 * @default none
 */
export function withMiddleware(...middleware: Middleware[]): RouteOption {
  return (draft) => {
    draft.set.add(RouteOptionName.Middleware);
    draft.middleware.push(...middleware);
  };
}

/**
 * When the durable consumer disappears mid-run: recreate it, or fail the route (and the broker).
 * @default "recreate"
 */
export function withOnConsumerLost(action: "recreate" | "fail"): RouteOption {
  return record(RouteOptionName.OnConsumerLost, action);
}

/**
 * When the route's stream turns out to be a new stream of the same name (deleted and created
 * again, or a memory stream lost with its server and provisioned anew; seen when the consumer
 * has to be recreated): its sequences restarted, so the ack floor the route knew is void.
 * `"consume"` consumes the new stream from its first message (a warning is logged and
 * `streamsRecreated` counted); `"fail"` fails the route (and the broker) with
 * ErrStreamRecreated. Either way nothing is skipped silently.
 * @default "consume"
 */
export function withOnStreamRecreated(action: "consume" | "fail"): RouteOption {
  return record(RouteOptionName.OnStreamRecreated, action);
}

/**
 * When the durable already exists with a setting the route cannot run with and must not change
 * in place (ack_policy other than explicit, a push consumer, replay_policy original, priority
 * groups, another filter subject, max_expires under 1s): `"fail"` fails the route at start with
 * ErrConsumerConfigConflict naming the field, both values and the fix; `"recreate"` deletes the
 * durable and creates it anew with the route's config, starting at the stream's first message
 * (its ack state is lost: on a limits stream every stored message of the route's subjects is
 * delivered again). Applies only at start; refused on an interest stream (deleting its only
 * consumer drops the stored messages). Use it for a deliberate migration, with every old
 * instance stopped.
 * @default "fail"
 */
export function withOnConsumerConflict(action: "fail" | "recreate"): RouteOption {
  return record(RouteOptionName.OnConsumerConflict, action);
}

/**
 * Where the route's durable starts when it is created:
 * - `"all"`: the stream's first stored message (the default);
 * - `"new"`: only messages stored after the durable is created;
 * - `"last-per-subject"`: the last message of each subject, then every new one;
 * - a stream sequence (an integer >= 1);
 * - a time: a `Date` or an ISO 8601 string, the first message stored at or after it;
 * - a duration back from the moment the durable is created: `"90s"`, `"15m"`, `"2h"`, `"7d"`.
 *
 * Only applied when the durable is created (JetStream's `deliver_policy` with `opt_start_seq`
 * / `opt_start_time`). A durable that exists keeps its position; if it was created with another
 * start, the route logs a warning saying so and how to move it (resetDurable, or a new
 * durable). Work-queue streams only allow `"all"`: another start fails the route with
 * ErrConsumerConfigRejected. A bad value throws ErrInvalidOption at register.
 * @default "all"
 * @example withStartAt("new") · withStartAt(1042) · withStartAt("2h") · withStartAt(new Date("2026-11-30"))
 */
export function withStartAt(start: StartAt): RouteOption {
  return record(RouteOptionName.StartAt, start);
}

/**
 * Makes the route a core NATS request-reply service: the handler's return value is the reply,
 * `reject()` a service error. Combine with withQueueGroup to load-balance.
 * @default a JetStream route
 */
export function withRequestReply(): RouteOption {
  return record(RouteOptionName.RequestReply, true);
}

/**
 * A core NATS queue group: alone it makes a load-balanced "queue" route; with withRequestReply
 * it load-balances requests.
 * @default none
 */
export function withQueueGroup(group: string): RouteOption {
  return record(RouteOptionName.QueueGroup, group);
}

/** Makes the route a core NATS fan-out subscription: every instance gets every message. */
export function withFanOut(): RouteOption {
  return record(RouteOptionName.FanOut, true);
}

/**
 * Core routes only: messages accepted but waiting for a worker; past it they are dropped,
 * logged and counted. An integer >= 1. The default is well above what one 64 KiB socket read
 * can carry (~2,000 tiny messages), so a handler that keeps up does not drop a burst.
 * @default 10000
 */
export function withMaxPending(n: number): RouteOption {
  return record(RouteOptionName.MaxPending, n);
}
