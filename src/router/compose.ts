import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { timeout } from "./middleware/timeout.js";
import { isOutcome } from "./outcome.js";
import type { Context, Handler, Message, Middleware, Outcome, RouteSpec } from "./types.js";

/** What a handler did with one message; the engines map it to ack/nak/term or a reply. */
export type HandlerResult =
  | { readonly kind: "outcome"; readonly outcome: Outcome }
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "error"; readonly error: unknown };

/**
 * Wraps `handler` in `middleware`, the first being outermost (it sees the message first and the
 * result last).
 * @example const h = compose([logging(), recover()], handler);
 */
export function compose(middleware: readonly Middleware[], handler: Handler): Handler {
  return middleware.reduceRight<Handler>((next, mw, i) => {
    const wrapped = mw(next);
    if (typeof wrapped !== "function") {
      throw new ErrInvalidOption(
        invalidValueMessage(`middleware #${i + 1} result`, wrapped, "a handler function"),
      );
    }
    return wrapped;
  }, handler);
}

/**
 * The handler a route engine runs per message: broker middleware outside the route's own, and
 * the route's handler timeout innermost so it bounds only the handler's own work.
 */
export function buildPipeline(spec: RouteSpec, brokerMiddleware: readonly Middleware[]): Handler {
  const own = spec.handlerTimeoutMs ? [timeout(spec.handlerTimeoutMs)] : [];
  return compose([...brokerMiddleware, ...spec.middleware, ...own], spec.handler);
}

/**
 * Runs `handler` and classifies the result. Never rejects: a throw (synchronous or not) becomes
 * `{ kind: "error" }`, so an engine cannot lose a message to an unhandled rejection.
 */
export async function invoke(handler: Handler, msg: Message, ctx: Context): Promise<HandlerResult> {
  try {
    const value: unknown = await handler(msg, ctx);
    return isOutcome(value) ? { kind: "outcome", outcome: value } : { kind: "value", value };
  } catch (error) {
    return { kind: "error", error };
  }
}
