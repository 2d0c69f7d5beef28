import { isOutcome } from "../outcome.js";
import type { Middleware } from "../types.js";

/** Options of {@link logging}. */
export interface LoggingOptions {
  /** Level of the line for handled messages; thrown errors always log at warn. @default "debug" */
  level?: "debug" | "info";
}

/**
 * Logs one line per message through ctx.logger: route, subject, deliveryCount, outcome kind
 * ("value" for a plain return value) and durationMs; a thrown error at warn under `err`, then
 * rethrown unchanged.
 * @example withMiddleware(logging({ level: "info" }))
 */
export function logging(options: LoggingOptions = {}): Middleware {
  const level = options.level ?? "debug";
  return (next) => async (msg, ctx) => {
    const started = performance.now();
    const fields = () => ({
      route: ctx.route,
      subject: msg.subject,
      deliveryCount: msg.deliveryCount,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
    try {
      const result = await next(msg, ctx);
      const outcome = isOutcome(result) ? result.kind : "value";
      ctx.logger[level]({ ...fields(), outcome }, "message handled");
      return result;
    } catch (err) {
      ctx.logger.warn({ ...fields(), outcome: "error", err }, "handler failed");
      throw err;
    }
  };
}
