import { type Duration, toTimerMillis } from "../../duration/index.js";
import { ErrHandlerTimeout, ErrInvalidDuration, invalidValueMessage } from "../../errors/index.js";
import type { Context, Middleware } from "../types.js";

/**
 * Bounds each message: when `duration` passes, the handler's ctx.signal aborts with an
 * ErrHandlerTimeout and the middleware rejects with it at once, without waiting for a handler
 * that ignores its signal. Throws ErrInvalidDuration for a duration that is not more than 0.
 * @example withMiddleware(timeout("10s"))
 */
export function timeout(duration: Duration): Middleware {
  const ms = toTimerMillis(duration, "timeout");
  if (ms <= 0) {
    throw new ErrInvalidDuration(invalidValueMessage("timeout", duration, "more than 0"));
  }
  return (next) => async (msg, ctx) => {
    const controller = new AbortController();
    // Linked by hand rather than AbortSignal.any: the listener is removed in finally, so a
    // long-lived route signal never accumulates one entry per message.
    const forward = () => controller.abort(ctx.signal.reason);
    if (ctx.signal.aborted) forward();
    else ctx.signal.addEventListener("abort", forward, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new ErrHandlerTimeout(
            `route "${ctx.route}" handler did not finish within ${ms} ms`,
          );
          controller.abort(err);
          reject(err);
        }, ms);
      });
      // Promise.race subscribes to both, so a handler rejecting after the timeout won is handled.
      const running = Promise.resolve().then(() => next(msg, withSignal(ctx, controller.signal)));
      return await Promise.race([running, expired]);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", forward);
    }
  };
}

/**
 * The same context with another signal, as a plain object so that middleware further in can
 * spread it again. Context is data (no methods), so copying own properties loses nothing.
 */
function withSignal(ctx: Context, signal: AbortSignal): Context {
  return { ...ctx, signal };
}
