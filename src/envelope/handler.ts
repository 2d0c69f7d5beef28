import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ErrInvalidEnvelope } from "../errors/index.js";
import type { Context, Handler, Message, Outcome } from "../router/types.js";
import { invalidPayload, requireHandler } from "../schema/handler.js";
import type { SchemaIssue } from "../schema/issues.js";
import { isStandardSchema, requireStandardSchema, validateWith } from "../schema/validate.js";
import type { Envelope } from "./types.js";
import { decodeEnvelope } from "./wire.js";

/** A handler that gets the decoded envelope first: what {@link enveloped} wraps. */
export type EnvelopedHandler<T, Result = unknown> = (
  event: Envelope<T>,
  msg: Message,
  ctx: Context,
) => Promise<Outcome | Result | undefined>;

/**
 * Wraps `handler` so it receives the message decoded as an {@link Envelope} and, with a
 * `schema` (any Standard Schema v1), its payload validated and typed as the schema's output.
 * A malformed envelope or a payload that fails the schema never reaches the handler: the
 * wrapper returns `reject(reason, { code: 400, issues })`, so a JetStream route dead-letters
 * it at once (never retried) with the issues in `Jetroute-Schema-Issues` (paths from the
 * envelope's root: `["payload", "amount"]`, `["occurred_at"]`), and a request-reply route
 * answers 400. Throws ErrInvalidOption for a bad schema and ErrHandlerRequired for a handler
 * that is not a function, when the route is declared.
 * @example
 * route(
 *   "bill",
 *   enveloped(Order, async (event, msg, ctx) => {
 *     ctx.logger.info({ eventId: event.eventId }, "billing");
 *     await billing.charge(event.payload); // typed by the Order schema
 *   }),
 *   withStream("ORDERS"),
 *   withSubject("orders.created"),
 *   withDLQ("dlq.orders"),
 * );
 */
export function enveloped<Result = unknown>(
  handler: EnvelopedHandler<unknown, Result>,
): Handler<Result>;
export function enveloped<S extends StandardSchemaV1, Result = unknown>(
  schema: S,
  handler: EnvelopedHandler<StandardSchemaV1.InferOutput<S>, Result>,
): Handler<Result>;
export function enveloped(schemaOrHandler: unknown, maybeHandler?: unknown): Handler<unknown> {
  // A schema may itself be callable (arktype's are), so look for "~standard" first.
  const hasSchema = maybeHandler !== undefined || isStandardSchema(schemaOrHandler);
  const schema = hasSchema ? requireStandardSchema(schemaOrHandler, "enveloped schema") : undefined;
  const handler = (hasSchema ? maybeHandler : schemaOrHandler) as EnvelopedHandler<unknown>;
  requireHandler(handler, "enveloped handler");
  return async (msg, ctx) => {
    let event: Envelope;
    try {
      event = decodeEnvelope(msg.data);
    } catch (err) {
      if (!(err instanceof ErrInvalidEnvelope)) throw err;
      return invalidPayload("malformed envelope", err.issues);
    }
    if (schema !== undefined) {
      const result = await validateWith(schema, event.payload);
      if (!result.ok)
        return invalidPayload("envelope payload failed its schema", inPayload(result.issues));
      if (result.value !== event.payload)
        event = Object.freeze({ ...event, payload: result.value });
    }
    return handler(event, msg, ctx);
  };
}

/** Issues of the payload, with paths from the envelope's root. */
function inPayload(issues: readonly SchemaIssue[]): SchemaIssue[] {
  return issues.map((i) => ({ message: i.message, path: ["payload", ...(i.path ?? [])] }));
}

/**
 * The message's payload decoded as an {@link Envelope} (its payload not validated: use
 * `enveloped(schema, ...)` for that). Throws ErrInvalidEnvelope with the issues when it is not
 * one; thrown out of a handler it follows the route's error policy like ErrDecode (retried,
 * then dead-lettered). `enveloped()` dead-letters a malformed envelope at once instead.
 * @example
 * const event = readEnvelope<Order>(msg);
 * ctx.logger.info({ eventId: event.eventId, type: event.eventType }, "received");
 */
export function readEnvelope<T = unknown>(msg: Message): Envelope<T> {
  return decodeEnvelope<T>(msg.data);
}
