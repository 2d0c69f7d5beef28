import { type Duration, toTimerMillis } from "../../duration/index.js";
import { ErrHandlerTimeout, ErrInvalidDuration, invalidValueMessage } from "../../errors/index.js";
import type { Context, Middleware } from "../types.js";

/**
 * Bounds each message: when `duration` (ms, or a string like "10s") passes, the handler's
 * ctx.signal aborts with an ErrHandlerTimeout; the middleware then WAITS for the handler to
 * return and rejects with that ErrHandlerTimeout, whatever the handler returned or threw (as
 * watermill's timeout middleware does). So a worker stays busy until its handler has really
 * stopped: at most `concurrency` handlers run, and a redelivered copy never runs beside its
 * original. A handler that ignores its signal keeps its worker until it returns (and at
 * shutdown is abandoned after the engine's abandon period). An abort of the caller's signal
 * (shutdown) is forwarded with its own reason. Throws ErrInvalidDuration for a duration that
 * is not more than 0.
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
    let expired: Error | undefined;
    const timer = setTimeout(() => {
      // A shutdown abort that came first keeps its reason: the runtime reads it.
      if (controller.signal.aborted) return;
      expired = new ErrHandlerTimeout(
        `route "${ctx.route}" handler did not finish within ${ms} ms`,
      );
      controller.abort(expired);
    }, ms);
    try {
      const result = await next(msg, withSignal(ctx, controller.signal));
      if (expired !== undefined) throw expired;
      return result;
    } catch (err) {
      throw expired ?? err;
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
