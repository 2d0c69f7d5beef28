import type { Attributes } from "@opentelemetry/api";
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
  ServerAddress: "server.address",
  ServerPort: "server.port",
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

/**
 * `server.address` / `server.port` of a connection's current server, from nats.js
 * `getServer()` ("host:port", "[v6]:port"); parsed once per server, not per message.
 */
export class ServerAttributes {
  readonly #nc: { getServer(): string };
  #hostport = "";
  #address = "";
  #port: number | undefined;

  constructor(nc: { getServer(): string }) {
    this.#nc = nc;
  }

  addTo(attributes: Attributes): void {
    const hostport = this.#nc.getServer();
    if (hostport !== this.#hostport) {
      this.#hostport = hostport;
      const i = hostport.lastIndexOf(":");
      const port = i > 0 ? Number(hostport.slice(i + 1)) : Number.NaN;
      this.#port = Number.isInteger(port) ? port : undefined;
      this.#address = (this.#port === undefined ? hostport : hostport.slice(0, i)).replace(
        /^\[(.*)\]$/,
        "$1",
      );
    }
    if (this.#address !== "") attributes[Attr.ServerAddress] = this.#address;
    if (this.#port !== undefined) attributes[Attr.ServerPort] = this.#port;
  }
}
