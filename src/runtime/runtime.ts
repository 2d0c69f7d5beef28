import { ErrShutdownTimeout } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import { buildPipeline } from "../router/compose.js";
import { isOutcome } from "../router/outcome.js";
import type { Context, Handler, Message, Middleware, Outcome, RouteSpec } from "../router/types.js";
import { guardHook } from "./hook.js";

/** What a handler did with one message; the engines map it to ack/nak/term or a reply. */
export type HandlerResult =
  | { readonly kind: "outcome"; readonly outcome: Outcome }
  | { readonly kind: "value"; readonly value: unknown }
  /** The handler failed (a throw, ErrHandlerTimeout included): the route's error policy applies. */
  | { readonly kind: "error"; readonly error: unknown }
  /**
   * The handler settled after the shutdown grace ended (`ctx.signal` aborted with
   * ErrShutdownTimeout), whatever it threw or returned. Not a handler failure: JetStream routes
   * release the message (redelivered), request routes answer 503.
   */
  | { readonly kind: "interrupted"; readonly reason: unknown };

/** Runs a route's handler pipeline; one per route run, shared by every route kind. */
export interface HandlerRuntime {
  /**
   * Runs the pipeline for one message. Never rejects. Resolves only when the handler has
   * returned: a timed-out handler keeps its worker until it returns. Reports kind "error" only
   * (logged at warn as "handler failed", then the route's onError hook, sync or async, whose
   * throw or rejection is caught and logged); logs kind "interrupted" at info.
   */
  run(msg: Message, ctx: Context): Promise<HandlerResult>;
}

/**
 * {@link HandlerRuntime} plus the pieces of `run`, for an engine whose hot path awaits the
 * pipeline in its own async frame (one promise hop fewer per message than calling `run`).
 * `run(msg, ctx)` is exactly `settle(await pipeline(msg, ctx))`, or `fail(thrown)`.
 */
export interface InlineHandlerRuntime extends HandlerRuntime {
  /** Broker middleware, route middleware, handler timeout, handler. */
  readonly pipeline: Handler;
  /** The result of a pipeline that returned `value`. */
  returned(value: unknown, msg: Message, ctx: Context): HandlerResult;
  /** The result of a pipeline that threw `error` (reported unless interrupted). */
  threw(error: unknown, msg: Message, ctx: Context): HandlerResult;
  /** Logs `error` as a handler failure and calls the onError hook; for failures found later (an unencodable reply). */
  report(error: unknown, msg: Message, ctx: Context): void;
}

/**
 * The one place that runs a handler for any route kind: builds the pipeline once (broker
 * middleware outside the route's, the handler timeout innermost), classifies what it returned
 * or threw, and reports failures. `logger` is the route's; messages log through `ctx.logger`.
 * @example
 * const rt = handlerRuntime(spec, ctx.middleware, ctx.logger);
 * const result = await rt.run(fromJsMsg(m), handlerCtx); // never rejects
 */
export function handlerRuntime(
  spec: RouteSpec,
  brokerMiddleware: readonly Middleware[],
  logger: Logger,
  onFailure?: (err: unknown) => void,
): InlineHandlerRuntime {
  return new Runtime(spec, buildPipeline(spec, brokerMiddleware), logger, onFailure);
}

/**
 * True when `signal` was aborted by the end of a shutdown grace period. Engines abort their
 * grace controller with an ErrShutdownTimeout, and the timeout middleware forwards that reason
 * to the signal it hands further in, so the reason is what tells shutdown from a handler
 * timeout (whose reason is an ErrHandlerTimeout).
 */
export function isShutdownAbort(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof ErrShutdownTimeout;
}

/**
 * What `returned(undefined, ...)` gives before the grace ended: most handlers return nothing,
 * so one frozen result serves them all (no object per message), and an engine that tracks the
 * grace itself may use it without asking the runtime.
 */
export const RETURNED_NOTHING: HandlerResult = Object.freeze({ kind: "value", value: undefined });

class Runtime implements InlineHandlerRuntime {
  readonly pipeline: Handler;
  readonly #spec: RouteSpec;
  readonly #logger: Logger;
  readonly #onFailure: ((err: unknown) => void) | undefined;

  constructor(
    spec: RouteSpec,
    pipeline: Handler,
    logger: Logger,
    onFailure: ((err: unknown) => void) | undefined,
  ) {
    this.#spec = spec;
    this.pipeline = pipeline;
    this.#logger = logger;
    this.#onFailure = onFailure;
  }

  async run(msg: Message, ctx: Context): Promise<HandlerResult> {
    try {
      return this.returned(await this.pipeline(msg, ctx), msg, ctx);
    } catch (error) {
      return this.threw(error, msg, ctx);
    }
  }

  returned(value: unknown, msg: Message, ctx: Context): HandlerResult {
    // A handler that stopped early on its aborted signal may return normally; acking that
    // would lose the message, so any result after the grace ended counts as interrupted.
    if (isShutdownAbort(ctx.signal)) return this.#interrupted(msg, ctx);
    if (value === undefined) return RETURNED_NOTHING;
    return isOutcome(value) ? { kind: "outcome", outcome: value } : { kind: "value", value };
  }

  threw(error: unknown, msg: Message, ctx: Context): HandlerResult {
    if (isShutdownAbort(ctx.signal)) return this.#interrupted(msg, ctx, error);
    this.report(error, msg, ctx);
    return { kind: "error", error };
  }

  report(error: unknown, msg: Message, ctx: Context): void {
    const log = ctx.logger;
    const policy = this.#spec.kind === "jetstream" ? this.#spec.errorPolicy : undefined;
    log.warn({ err: error, subject: msg.subject, policy }, "handler failed");
    this.#onFailure?.(error);
    const onError = this.#spec.onError;
    if (onError === undefined) return;
    guardHook(
      () => onError(error, msg, ctx),
      // A broken hook must not take the route down; it is the user's bug to see in the log.
      (err) => this.#logger.error({ err, subject: msg.subject }, "onError hook failed"),
    );
  }

  #interrupted(msg: Message, ctx: Context, thrown?: unknown): HandlerResult {
    const reason: unknown = ctx.signal.reason;
    ctx.logger.info(
      { subject: msg.subject, err: thrown },
      "handler interrupted by shutdown; not counted as a failure",
    );
    return { kind: "interrupted", reason };
  }
}
