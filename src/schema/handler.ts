import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ReplyCode } from "../core/reply.js";
import { ErrHandlerRequired, invalidValueMessage } from "../errors/index.js";
import { reject } from "../router/outcome.js";
import type { Context, Handler, Message, Outcome } from "../router/types.js";
import { type SchemaIssue, summarizeIssues } from "./issues.js";
import { requireStandardSchema, validateWith } from "./validate.js";

/** A handler that gets the validated value first: what {@link validated} wraps. */
export type ValidatedHandler<T, Result = unknown> = (
  value: T,
  msg: Message,
  ctx: Context,
) => Promise<Outcome | Result | undefined>;

/**
 * Wraps `handler` so it receives the message's JSON payload validated by `schema` (any
 * Standard Schema v1: zod, valibot, arktype, ...), typed as the schema's output. Async
 * validators are awaited. A payload that is not JSON or fails the schema never reaches the
 * handler: the wrapper returns `reject(reason, { code: 400, issues })`, so a JetStream route
 * dead-letters it at once (never retried), with the issues in `Jetroute-Schema-Issues`, and a
 * request-reply route answers 400 with them. A validator that throws is a handler error (the
 * route's error policy applies). Throws ErrInvalidOption when `schema` is not a Standard Schema
 * and ErrHandlerRequired when `handler` is not a function, when the route is declared.
 * @example
 * const Order = z.object({ id: z.string(), amount: z.number().positive() });
 * route(
 *   "charge",
 *   validated(Order, async (order, msg, ctx) => {
 *     await payments.charge(order.id, order.amount, { signal: ctx.signal }); // order is typed
 *   }),
 *   withStream("ORDERS"),
 *   withSubject("orders.created"),
 *   withDLQ("dlq.orders"),
 * );
 */
export function validated<S extends StandardSchemaV1, Result = unknown>(
  schema: S,
  handler: ValidatedHandler<StandardSchemaV1.InferOutput<S>, Result>,
): Handler<Result> {
  requireStandardSchema(schema, "validated schema");
  requireHandler(handler, "validated handler");
  return async (msg, ctx) => {
    let value: unknown;
    try {
      value = msg.json();
    } catch (err) {
      return invalidPayload("payload is not JSON", [{ message: notJsonMessage(err) }]);
    }
    const result = await validateWith(schema, value);
    if (!result.ok) return invalidPayload("payload failed its schema", result.issues);
    return handler(result.value, msg, ctx);
  };
}

/** The outcome of a payload that can never be handled: dead-lettered at once, or a 400. */
export function invalidPayload(what: string, issues: readonly SchemaIssue[]): Outcome {
  return reject(summarizeIssues(what, issues), { code: ReplyCode.BadRequest, issues });
}

/** The issue of a payload `msg.json()` could not parse. */
export function notJsonMessage(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof Error ? `not valid JSON: ${cause.message}` : "not valid JSON";
}

/** Throws ErrHandlerRequired naming `what` unless `handler` is a function. */
export function requireHandler(handler: unknown, what: string): void {
  if (typeof handler !== "function") {
    throw new ErrHandlerRequired(invalidValueMessage(what, handler, "a function"));
  }
}
