import { causeText } from "../../errors/index.js";
import { reject, retry } from "../outcome.js";
import type { Middleware } from "../types.js";

/** Options of {@link recover}. */
export interface RecoverOptions {
  /** The outcome a thrown error becomes. @default "retry" */
  as?: "retry" | "reject";
}

/**
 * Turns a thrown error into an outcome (retry with the route's backoff, or reject), logged at
 * warn with the error under `err`. Handlers that return outcomes are untouched.
 * @example withMiddleware(recover({ as: "reject" }))
 */
export function recover(options: RecoverOptions = {}): Middleware {
  const as = options.as ?? "retry";
  return (next) => async (msg, ctx) => {
    try {
      return await next(msg, ctx);
    } catch (err) {
      ctx.logger.warn(
        { err, subject: msg.subject, deliveryCount: msg.deliveryCount, outcome: as },
        "handler error recovered",
      );
      return as === "reject" ? reject(causeText(err)) : retry();
    }
  };
}
