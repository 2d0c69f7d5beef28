/**
 * Span attribute and event names. The `messaging.*` ones are the OpenTelemetry messaging
 * semantic conventions (semconv 1.26+, `messaging-spans.md`, with `messaging.system` "nats" as
 * `nats.md` asks); `jetroute.*` carry what those conventions have no name for.
 */
export const Attr = {
  System: "messaging.system",
  DestinationName: "messaging.destination.name",
  DestinationTemplate: "messaging.destination.template",
  OperationType: "messaging.operation.type",
  OperationName: "messaging.operation.name",
  MessageId: "messaging.message.id",
  BodySize: "messaging.message.body.size",
  ConsumerGroup: "messaging.consumer.group.name",
  ErrorType: "error.type",
  Route: "jetroute.route",
  Stream: "jetroute.stream",
  StreamSequence: "jetroute.stream.sequence",
  DeliveryCount: "jetroute.delivery_count",
  Outcome: "jetroute.outcome",
  Duplicate: "jetroute.duplicate",
  RetryDelayMs: "jetroute.retry.delay_ms",
  DeadLetterReason: "jetroute.dead_letter.reason",
  ReplyErrorCode: "jetroute.reply.error_code",
  ReplyErrorDescription: "jetroute.reply.error_description",
} as const;

/** Span event names. */
export const SpanEvent = {
  Retry: "jetroute.retry",
  DeadLetter: "jetroute.dead_letter",
} as const;

export const MESSAGING_SYSTEM = "nats";

/** The header JetStream deduplicates on; its value is the message id. */
export const MSG_ID_HEADER = "Nats-Msg-Id";

/**
 * `error.type` of a failure: a jetroute error's stable code, else the error's class name, else
 * `_OTHER` (the conventions' fallback).
 */
export function errorType(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    const name = (err as { name?: unknown }).name;
    if (typeof name === "string" && name !== "") return name;
  }
  return "_OTHER";
}
