import { match } from "ts-pattern";
import { toTimerMillis } from "../duration/index.js";
import {
  ErrDLQLoop,
  ErrDuplicateRoute,
  ErrHandlerRequired,
  ErrInvalidConcurrency,
  ErrInvalidDuration,
  ErrInvalidMaxDeliver,
  ErrInvalidOption,
  ErrInvalidStreamName,
  ErrInvalidSubject,
  ErrOptionNotSupported,
  ErrRouteNameRequired,
  ErrStreamRequired,
  ErrSubjectRequired,
  invalidValueMessage,
} from "../errors/index.js";
import { inboxSpecOf } from "../inbox/option.js";
import { parseStartAt, type StreamPosition } from "../position/index.js";
import { subjectMatches, subjectsOverlap } from "../subject/index.js";
import { checkBackoff, exponential } from "./backoff.js";
import {
  CORE_ONLY,
  JETSTREAM_ONLY,
  newRouteDraft,
  RouteOptionName as O,
  type RouteDraft,
} from "./options.js";
import type { Route } from "./route.js";
import { checkRouteSubject, nameProblem } from "./subjects.js";
import {
  type FanOutRouteSpec,
  type Handler,
  type JetStreamRouteSpec,
  type Middleware,
  type OnError,
  type QueueRouteSpec,
  type RequestRouteSpec,
  RouteKind,
  type RouteSpec,
} from "./types.js";

const MAX_CONCURRENCY = 10_000;
/** nats-server's own default `max_ack_pending`, kept as the floor of jetroute's default. */
const DEFAULT_MAX_ACK_PENDING = 1_000;

type Base = Omit<JetStreamRouteSpec, "kind" | keyof JetStreamOnly>;
type JetStreamOnly = Omit<JetStreamRouteSpec, keyof RequestRouteSpec>;

/**
 * Applies defaults, then the route's options, validates once and returns a frozen spec. Throws
 * the sentinel for the first bad value, naming the route and the option. The broker calls it
 * (then validateRouteSet) at `register`.
 * @example const spec = buildRouteSpec(route("charge", handler, withStream("ORDERS"), withSubject("orders.*")));
 */
export function buildRouteSpec(r: Route): RouteSpec {
  const name = r?.name;
  if (typeof name !== "string" || name.trim() === "") {
    throw new ErrRouteNameRequired(invalidValueMessage("route name", name, "a non-empty string"));
  }
  const handler = r.handler;
  if (typeof handler !== "function") {
    throw new ErrHandlerRequired(invalidValueMessage("handler", handler, "a function", name));
  }
  const draft = applyOptions(r.options, name);
  const kind = resolveKind(draft, name);
  rejectUnsupported(draft, kind, name);

  const base: Base = {
    name,
    handler: handler as Handler,
    concurrency: concurrencyOf(draft, name),
    middleware: Object.freeze(middlewareOf(draft, name)),
    handlerTimeoutMs: handlerTimeoutOf(draft, name),
    onError: onErrorOf(draft, name),
  };
  const subjects = subjectsOf(draft, name);
  const subject = (): string => singleSubject(subjects, kind, name);
  const spec: RouteSpec = match(kind)
    .with(
      RouteKind.JetStream,
      (): JetStreamRouteSpec => ({
        ...base,
        kind: RouteKind.JetStream,
        ...jetStreamFields(draft, base, subjects),
      }),
    )
    .with(RouteKind.Request, (): RequestRouteSpec => {
      const group = draft.values.get(O.QueueGroup);
      return {
        ...base,
        kind: RouteKind.Request,
        subject: subject(),
        queueGroup: group === undefined ? undefined : queueGroupOf(group, name),
        maxPending: maxPendingOf(draft, name),
      };
    })
    .with(
      RouteKind.Queue,
      (): QueueRouteSpec => ({
        ...base,
        kind: RouteKind.Queue,
        subject: subject(),
        queueGroup: queueGroupOf(draft.values.get(O.QueueGroup), name),
        maxPending: maxPendingOf(draft, name),
      }),
    )
    .with(
      RouteKind.FanOut,
      (): FanOutRouteSpec => ({
        ...base,
        kind: RouteKind.FanOut,
        subject: subject(),
        maxPending: maxPendingOf(draft, name),
      }),
    )
    .exhaustive();
  return Object.freeze(spec);
}

/**
 * Checks routes against each other: throws ErrDuplicateRoute when two share a name, or two
 * JetStream routes share a durable consumer on the same stream (they would steal each other's
 * messages).
 */
export function validateRouteSet(specs: readonly RouteSpec[]): void {
  const names = new Set<string>();
  const durables = new Map<string, string>();
  for (const spec of specs) {
    if (names.has(spec.name)) {
      throw new ErrDuplicateRoute(
        invalidValueMessage("route name", spec.name, "unique within a broker", spec.name),
      );
    }
    names.add(spec.name);
    if (spec.kind !== RouteKind.JetStream) continue;
    const key = `${spec.stream}\u0000${spec.durable}`;
    const other = durables.get(key);
    if (other !== undefined) {
      throw new ErrDuplicateRoute(
        invalidValueMessage(
          O.Durable,
          spec.durable,
          `unique on stream "${spec.stream}" (route "${other}" already uses it)`,
          spec.name,
        ),
      );
    }
    durables.set(key, spec.name);
  }
}

function applyOptions(options: unknown, name: string): RouteDraft {
  const draft = newRouteDraft();
  const list = Array.isArray(options) ? options : [];
  for (const [i, option] of list.entries()) {
    if (typeof option !== "function") {
      throw new ErrInvalidOption(
        invalidValueMessage(
          `option #${i + 1}`,
          option,
          "a route option such as withStream(...)",
          name,
        ),
      );
    }
    (option as (d: RouteDraft) => void)(draft);
  }
  // `withAckWait(process.env.ACK_WAIT)` with the variable unset must not mean "the default".
  for (const [option, value] of draft.values) {
    if (value !== undefined && value !== null) continue;
    const expected = "a value (leave the option out to get its default)";
    const Err = DURATION_OPTIONS.has(option) ? ErrInvalidDuration : ErrInvalidOption;
    throw new Err(invalidValueMessage(option, value, expected, name));
  }
  return draft;
}

const DURATION_OPTIONS: ReadonlySet<string> = new Set([
  O.AckWait,
  O.IdleHeartbeat,
  O.HandlerTimeout,
]);

function resolveKind(draft: RouteDraft, name: string): RouteKind {
  const request = draft.set.has(O.RequestReply);
  const fanOut = draft.set.has(O.FanOut);
  const queue = draft.set.has(O.QueueGroup);
  if (fanOut && (request || queue)) {
    const other = request ? O.RequestReply : O.QueueGroup;
    throw new ErrInvalidOption(
      invalidValueMessage(O.FanOut, true, `left out when ${other} is given`, name),
    );
  }
  if (request) return RouteKind.Request;
  if (fanOut) return RouteKind.FanOut;
  if (queue) return RouteKind.Queue;
  return RouteKind.JetStream;
}

function rejectUnsupported(draft: RouteDraft, kind: RouteKind, name: string): void {
  const forbidden = kind === RouteKind.JetStream ? CORE_ONLY : JETSTREAM_ONLY;
  const where = kind === RouteKind.JetStream ? "core NATS routes" : "JetStream routes";
  for (const option of forbidden) {
    if (!draft.set.has(option)) continue;
    throw new ErrOptionNotSupported(
      invalidValueMessage(
        option,
        draft.values.get(option),
        `left out on a ${kind} route (it applies only to ${where})`,
        name,
      ),
    );
  }
}

/** The route's subjects: at least one, each valid, none covering another (the server refuses overlapping filters). */
function subjectsOf(draft: RouteDraft, name: string): readonly string[] {
  const raw = draft.values.get(O.Subject);
  if (raw === undefined || raw === "") {
    throw new ErrSubjectRequired(
      invalidValueMessage(O.Subject, raw, 'a subject such as "orders.created"', name),
    );
  }
  const subjects = (Array.isArray(raw) ? raw : [raw]).map((s) =>
    checkRouteSubject(s, O.Subject, true, name),
  );
  for (const [i, a] of subjects.entries()) {
    const b = subjects.slice(0, i).find((earlier) => subjectsOverlap(earlier, a));
    if (b === undefined) continue;
    const expected = `subjects that do not overlap ("${b}" and "${a}" both match some subjects; keep the wider one)`;
    throw new ErrInvalidSubject(a, invalidValueMessage(O.Subject, subjects, expected, name));
  }
  return Object.freeze(subjects);
}

function singleSubject(subjects: readonly string[], kind: RouteKind, name: string): string {
  const [first] = subjects;
  if (subjects.length === 1 && first !== undefined) return first;
  const expected = `one subject on a ${kind} route (several subjects are for JetStream routes)`;
  throw new ErrOptionNotSupported(invalidValueMessage(O.Subject, subjects, expected, name));
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function concurrencyOf(draft: RouteDraft, name: string): number {
  const n = draft.values.get(O.Concurrency) ?? 1;
  if (isIntIn(n, 1, MAX_CONCURRENCY)) return n;
  throw new ErrInvalidConcurrency(
    invalidValueMessage(O.Concurrency, n, `an integer from 1 to ${MAX_CONCURRENCY}`, name),
  );
}

function middlewareOf(draft: RouteDraft, name: string): Middleware[] {
  for (const mw of draft.middleware) {
    if (typeof mw !== "function") {
      throw new ErrInvalidOption(
        invalidValueMessage(O.Middleware, mw, "middleware functions", name),
      );
    }
  }
  return [...draft.middleware] as Middleware[];
}

function handlerTimeoutOf(draft: RouteDraft, name: string): number | undefined {
  const value = draft.values.get(O.HandlerTimeout);
  if (value === undefined) return undefined;
  const ms = toTimerMillis(value, O.HandlerTimeout, name);
  if (ms > 0) return ms;
  throw new ErrInvalidDuration(invalidValueMessage(O.HandlerTimeout, value, "more than 0", name));
}

function onErrorOf(draft: RouteDraft, name: string): OnError | undefined {
  const fn = draft.values.get(O.OnError);
  if (fn === undefined || typeof fn === "function") return fn as OnError | undefined;
  throw new ErrInvalidOption(invalidValueMessage(O.OnError, fn, "a function", name));
}

function oneOf<T extends string>(
  draft: RouteDraft,
  option: (typeof O)[keyof typeof O],
  allowed: readonly T[],
  name: string,
): T {
  const value = draft.values.get(option) ?? allowed[0];
  if (allowed.includes(value as T)) return value as T;
  const expected = `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`;
  throw new ErrInvalidOption(invalidValueMessage(option, value, expected, name));
}

function jetStreamFields(
  draft: RouteDraft,
  base: Base,
  subjects: readonly string[],
): JetStreamOnly {
  const name = base.name;
  const stream = draft.values.get(O.Stream);
  if (stream === undefined || stream === "") {
    throw new ErrStreamRequired(invalidValueMessage(O.Stream, stream, "a stream name", name));
  }
  const streamProblem = typeof stream === "string" ? nameProblem(stream) : "not a string";
  if (streamProblem !== undefined) {
    const expected = `a valid stream name: ${streamProblem}`;
    throw new ErrInvalidStreamName(invalidValueMessage(O.Stream, stream, expected, name));
  }

  const durable = draft.values.get(O.Durable) ?? name;
  const durableProblem = typeof durable === "string" ? nameProblem(durable) : "not a string";
  if (durableProblem !== undefined) {
    const option = draft.set.has(O.Durable) ? O.Durable : `${O.Durable} (default: the route name)`;
    const expected = `a valid consumer name: ${durableProblem}`;
    throw new ErrInvalidOption(invalidValueMessage(option, durable, expected, name));
  }

  const maxDeliver = draft.values.get(O.MaxDeliver) ?? 5;
  if (maxDeliver !== -1 && !isIntIn(maxDeliver, 1, Number.MAX_SAFE_INTEGER)) {
    const expected = "an integer of at least 1, or -1 for unlimited";
    throw new ErrInvalidMaxDeliver(invalidValueMessage(O.MaxDeliver, maxDeliver, expected, name));
  }

  const ackWaitRaw = draft.values.get(O.AckWait) ?? "30s";
  const ackWaitMs = toTimerMillis(ackWaitRaw, O.AckWait, name);
  if (ackWaitMs < 1000) {
    throw new ErrInvalidDuration(invalidValueMessage(O.AckWait, ackWaitRaw, "at least 1s", name));
  }

  const heartbeatRaw = draft.values.get(O.IdleHeartbeat) ?? "1s";
  const idleHeartbeatMs = toTimerMillis(heartbeatRaw, O.IdleHeartbeat, name);
  if (idleHeartbeatMs < 100 || idleHeartbeatMs > 15_000) {
    const expected = "from 100ms to 15s";
    throw new ErrInvalidDuration(
      invalidValueMessage(O.IdleHeartbeat, heartbeatRaw, expected, name),
    );
  }

  const backoff =
    draft.values.get(O.Backoff) ?? exponential({ initial: "1s", max: "1m", jitter: 0.2 });
  checkBackoff(backoff, name);

  const prefetch = draft.values.get(O.Prefetch) ?? base.concurrency;
  if (!isIntIn(prefetch, 1, MAX_CONCURRENCY)) {
    const expected = `an integer from 1 to ${MAX_CONCURRENCY}`;
    throw new ErrInvalidOption(invalidValueMessage(O.Prefetch, prefetch, expected, name));
  }

  const maxAckPending =
    draft.values.get(O.MaxAckPending) ??
    Math.max(DEFAULT_MAX_ACK_PENDING, base.concurrency + prefetch);
  if (!isIntIn(maxAckPending, 1, Number.MAX_SAFE_INTEGER)) {
    const expected = "an integer of at least 1";
    throw new ErrInvalidOption(invalidValueMessage(O.MaxAckPending, maxAckPending, expected, name));
  }

  const dlqRaw = draft.values.get(O.DLQ);
  const dlq = dlqRaw === undefined ? undefined : checkRouteSubject(dlqRaw, O.DLQ, false, name);
  const own = dlq === undefined ? undefined : subjects.find((s) => subjectMatches(s, dlq));
  if (dlq !== undefined && own !== undefined) {
    const expected = `a subject the route's own subject "${own}" does not match (it would consume its own dead letters)`;
    throw new ErrDLQLoop(invalidValueMessage(O.DLQ, dlq, expected, name));
  }

  return {
    stream: stream as string,
    subjects,
    durable: durable as string,
    maxDeliver: maxDeliver as number,
    ackWaitMs,
    idleHeartbeatMs,
    backoff,
    prefetch,
    maxAckPending,
    maxAckPendingSet: draft.values.has(O.MaxAckPending),
    dlq,
    errorPolicy: oneOf(draft, O.ErrorPolicy, ["retry", "terminate"], name),
    onConsumerLost: oneOf(draft, O.OnConsumerLost, ["recreate", "fail"], name),
    onStreamRecreated: oneOf(draft, O.OnStreamRecreated, ["consume", "fail"], name),
    onConsumerConflict: oneOf(draft, O.OnConsumerConflict, ["fail", "recreate"], name),
    startAt: draft.values.has(O.StartAt)
      ? parseStartAt(draft.values.get(O.StartAt), O.StartAt, name)
      : START_ALL,
    startAtSet: draft.values.has(O.StartAt),
    inbox: inboxSpecOf(draft, name),
  };
}

const START_ALL: StreamPosition = Object.freeze({ kind: "all" });

function queueGroupOf(group: unknown, name: string): string {
  if (typeof group === "string" && group !== "" && !/\s/.test(group)) return group;
  const expected = "a non-empty string without whitespace";
  throw new ErrInvalidOption(invalidValueMessage(O.QueueGroup, group, expected, name));
}

function maxPendingOf(draft: RouteDraft, name: string): number {
  const n = draft.values.get(O.MaxPending) ?? 10_000;
  if (isIntIn(n, 1, Number.MAX_SAFE_INTEGER)) return n;
  throw new ErrInvalidOption(
    invalidValueMessage(O.MaxPending, n, "an integer of at least 1", name),
  );
}
