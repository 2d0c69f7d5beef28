import { beforeRun, decideSettlement, type Settlement } from "../consumer/index.js";
import { CoreStatsCounter, handleResult, type Reply } from "../core/index.js";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { type Logger, silentLogger } from "../logger/index.js";
import type { Producer } from "../producer/types.js";
import { buildRouteSpec, type Route } from "../router/index.js";
import type { Context, Middleware, RouteSpec } from "../router/types.js";
import { type HandlerResult, handlerRuntime } from "../runtime/index.js";
import type { SchemaIssue } from "../schema/issues.js";
import { rawTestMessage, type TestMessage, testMessageView } from "./message.js";
import { type PublishedMessage, type RecordingProducer, recordingProducer } from "./producer.js";

export type { Settlement } from "../consumer/index.js";

/** Options of {@link runHandler}. */
export interface RunHandlerOptions {
  /** Broker middleware (`withBrokerMiddleware`), applied outside the route's own. @default none */
  readonly middleware?: readonly Middleware[];
  /**
   * The handler's `ctx.signal`. Abort it with an ErrShutdownTimeout to see what a handler
   * interrupted by shutdown gets (a JetStream message is released, a request answered 503).
   * @default a signal that never aborts
   */
  readonly signal?: AbortSignal;
  /** `ctx.producer`. @default a new {@link recordingProducer}, whose records are in `published` */
  readonly producer?: Producer;
  /** The route's logger (messages log through it). @default silent */
  readonly logger?: Logger;
  /** "Now", ms since the epoch: the message timestamp when it has none. @default Date.now() */
  readonly now?: number;
}

/** What every {@link runHandler} result has. */
interface RunResultBase {
  /** The route's name. */
  readonly route: string;
  /**
   * What the pipeline (middleware, timeout, handler) came to; undefined when the handler did
   * not run (a JetStream message delivered too often without settling is dead-lettered unrun).
   */
  readonly result: HandlerResult | undefined;
  /** What the handler published through the default recording producer (empty with your own). */
  readonly published: readonly PublishedMessage[];
}

/** {@link runHandler} on a JetStream route: the settlement the engine would apply. */
export interface JetStreamRunResult extends RunResultBase {
  readonly kind: "jetstream";
  /** `ack`, `nak` (with the computed delay), `dead-letter` (with its reason) or `release`. */
  readonly settlement: Settlement;
}

/** The reply a request route sends, as a test sees it. */
export type TestReply =
  | {
      readonly kind: "data";
      /** The reply body as sent. */
      readonly data: Uint8Array;
      /** The body decoded as JSON (what `producer.request` returns); undefined when it is not JSON. */
      readonly value: unknown;
    }
  /**
   * An error reply: `Nats-Service-Error-Code` and `Nats-Service-Error`; `issues` when the
   * handler rejected with validation issues (a payload that failed its schema).
   */
  | {
      readonly kind: "error";
      readonly code: number;
      readonly description: string;
      readonly issues?: readonly SchemaIssue[];
    };

/** {@link runHandler} on a request-reply route: the reply the engine would send. */
export interface RequestRunResult extends RunResultBase {
  readonly kind: "request";
  readonly reply: TestReply;
}

/**
 * {@link runHandler} on a queue or fan-out route: `ack` when handled, `error` when it failed
 * (thrown: code 400 for ErrDecode, else 500), or was given up (`reject()`: its code; `retry()`:
 * 503, core NATS cannot redeliver).
 */
export interface CoreRunResult extends RunResultBase {
  readonly kind: "queue" | "fanout";
  readonly outcome:
    | { readonly kind: "ack" }
    | { readonly kind: "error"; readonly code: number; readonly description: string };
}

export type RunHandlerResult = JetStreamRunResult | RequestRunResult | CoreRunResult;

const decoder = new TextDecoder();

/**
 * Runs a route's handler once, with its middleware (and `options.middleware` as broker
 * middleware outside it) and handler timeout, on a message made up from `message`, with no
 * server. The result is what the engine would do, decided by the engine's own code
 * (buildRouteSpec, the handler runtime, the settlement table, the core reply mapping):
 *
 * - JetStream route: `settlement` is `ack`, `nak` with the delay (from `retry({ delay })` or
 *   the route's backoff for `deliveryCount`), `dead-letter` with the reason (the final
 *   delivery is `deliveryCount >= withMaxDeliver`), or `release` (interrupted by shutdown).
 *   A backoff with jitter is computed by the route's strategy, so its delay varies between
 *   runs: assert a range, or give the route `fixed(...)` / `jitter: 0`.
 * - Request route: `reply`, the decoded value or the service error code and description.
 * - Queue / fan-out route: `outcome`, ack or error.
 *
 * Throws ErrInvalidOption naming the field when `route` is not a `route(...)` or the message
 * is malformed (`message.subject` not one the route consumes, `message.deliveryCount` below
 * 1, ...), and the route's own sentinel when the route is invalid, as `register` would.
 * `onError` hooks are called as the engine calls them.
 * @example
 * const r = await runHandler(charge, { data: { orderId: 7 }, deliveryCount: 5 });
 * assert.deepEqual(r.kind === "jetstream" && r.settlement.kind, "dead-letter");
 */
export async function runHandler(
  route: Route,
  message?: TestMessage,
  options: RunHandlerOptions = {},
): Promise<RunHandlerResult> {
  const spec = specOf(route);
  checkOptions(options);
  const now = options.now ?? Date.now();
  const raw = rawTestMessage(spec, message, now);
  const logger = options.logger ?? silentLogger();
  const recorder: RecordingProducer | undefined =
    options.producer === undefined ? recordingProducer() : undefined;
  const producer: Producer = options.producer ?? (recorder as RecordingProducer);
  const ctx: Context = {
    signal: options.signal ?? new AbortController().signal,
    logger,
    route: spec.name,
    producer,
  };
  const runtime = handlerRuntime(spec, options.middleware ?? [], logger);
  const msg = testMessageView(spec, raw);
  const published = (): readonly PublishedMessage[] => [...(recorder?.published ?? [])];

  if (spec.kind === "jetstream") {
    const early = beforeRun(spec, raw.deliveryCount);
    if (early !== undefined) {
      return {
        kind: "jetstream",
        route: spec.name,
        result: undefined,
        settlement: early,
        published: [],
      };
    }
    const result = await runtime.run(msg, ctx);
    const settlement = decideSettlement(result, raw.deliveryCount, spec, logger);
    return { kind: "jetstream", route: spec.name, result, settlement, published: published() };
  }
  const result = await runtime.run(msg, ctx);
  const reply = handleResult(result, msg, {
    spec,
    ctx,
    stats: new CoreStatsCounter(),
    runtime,
  });
  if (spec.kind === "request") {
    return {
      kind: "request",
      route: spec.name,
      result,
      reply: testReply(reply),
      published: published(),
    };
  }
  // Queue and fan-out routes send nothing, but the reply handleResult decides says how it went.
  const outcome = reply.kind === "data" ? ({ kind: "ack" } as const) : replyError(reply);
  return { kind: spec.kind, route: spec.name, result, outcome, published: published() };
}

/** The spec of `route`, refusing what is not a `route(...)`. */
export function specOf(route: unknown): RouteSpec {
  const r = route as Partial<Route> | null;
  if (typeof r !== "object" || r === null || !Array.isArray(r.options) || !("handler" in r)) {
    throw new ErrInvalidOption(
      invalidValueMessage("route", route, "a route made by route(name, handler, ...options)"),
    );
  }
  return buildRouteSpec(r as Route);
}

function checkOptions(options: unknown): void {
  if (typeof options !== "object" || options === null) {
    throw new ErrInvalidOption(invalidValueMessage("options", options, "an object"));
  }
  const o = options as RunHandlerOptions;
  if (o.middleware !== undefined) {
    if (!Array.isArray(o.middleware) || o.middleware.some((m) => typeof m !== "function")) {
      const expected = "an array of middleware functions";
      throw new ErrInvalidOption(invalidValueMessage("options.middleware", o.middleware, expected));
    }
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new ErrInvalidOption(invalidValueMessage("options.signal", o.signal, "an AbortSignal"));
  }
  if (o.now !== undefined && !(typeof o.now === "number" && Number.isFinite(o.now))) {
    throw new ErrInvalidOption(invalidValueMessage("options.now", o.now, "ms since the epoch"));
  }
  const p = o.producer as Partial<Producer> | undefined;
  if (p !== undefined && (typeof p !== "object" || typeof p?.publishJetStream !== "function")) {
    throw new ErrInvalidOption(invalidValueMessage("options.producer", p, "a Producer"));
  }
}

/** A reply as tests see it: a data reply decoded as JSON when it is JSON. */
export function testReply(reply: Reply): TestReply {
  if (reply.kind === "error") return replyError(reply);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(reply.data));
  } catch {
    value = undefined;
  }
  return { kind: "data", data: reply.data, value };
}

function replyError(reply: Extract<Reply, { kind: "error" }>): {
  kind: "error";
  code: number;
  description: string;
  issues?: readonly SchemaIssue[];
} {
  const { code, description, issues } = reply;
  return issues === undefined
    ? { kind: "error", code, description }
    : { kind: "error", code, description, issues };
}
