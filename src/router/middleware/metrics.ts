import { guardHook } from "../../runtime/hook.js";
import { isOutcome } from "../outcome.js";
import type { Middleware, Outcome } from "../types.js";

/** One handled message, as reported to a {@link metrics} hook. */
export interface MessageMetric {
  readonly route: string;
  readonly subject: string;
  /** The outcome kind, "value" for any other return value, "error" when the handler threw. */
  readonly kind: Outcome["kind"] | "value" | "error";
  readonly durationMs: number;
  readonly deliveryCount: number;
  /** The thrown error, when kind is "error". */
  readonly error?: unknown;
}

/**
 * Calls `hook` after every message with its result and duration (ms). The hook may be async; it
 * is not awaited, and a throw or rejection is logged at warn through ctx.logger ("metrics hook
 * failed") and otherwise ignored: metrics must never change what happens to a message.
 * @example withMiddleware(metrics((m) => histogram.observe({ route: m.route, kind: m.kind }, m.durationMs)))
 */
export function metrics(hook: (metric: MessageMetric) => void | Promise<void>): Middleware {
  return (next) => async (msg, ctx) => {
    const started = performance.now();
    const report = (
      metric: Omit<MessageMetric, "route" | "subject" | "durationMs" | "deliveryCount">,
    ) => {
      const value: MessageMetric = {
        route: ctx.route,
        subject: msg.subject,
        durationMs: performance.now() - started,
        deliveryCount: msg.deliveryCount,
        ...metric,
      };
      guardHook(
        () => hook(value),
        (err) => ctx.logger.warn({ err }, "metrics hook failed"),
      );
    };
    try {
      const result = await next(msg, ctx);
      report({ kind: isOutcome(result) ? result.kind : "value" });
      return result;
    } catch (error) {
      report({ kind: "error", error });
      throw error;
    }
  };
}
