import type { Context } from "../router/types.js";

/**
 * Where a handler's context carries its inbox transaction. A symbol, not a `Context` field:
 * only stores with transactions set it, and middleware that copies the context (`{...ctx}`)
 * keeps it.
 */
export const INBOX_TRANSACTION: unique symbol = Symbol.for("jetroute.inbox.transaction");

/** `ctx` with `transaction` attached (a new object; `ctx` is not changed). */
export function attachTransaction(ctx: Context, transaction: unknown): Context {
  return { ...ctx, [INBOX_TRANSACTION]: transaction } as Context;
}

/** The transaction attached to `ctx`, or undefined. */
export function attachedTransaction(ctx: Context): unknown {
  return (ctx as Context & { [INBOX_TRANSACTION]?: unknown })[INBOX_TRANSACTION];
}
