import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { timeout } from "./middleware/timeout.js";
import type { Handler, Middleware, RouteSpec } from "./types.js";

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
