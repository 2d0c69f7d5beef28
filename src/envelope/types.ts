/**
 * An event in jetroute's envelope: who produced what, when, about which resource, with the
 * payload. On the wire it is a JSON object with snake_case fields (`event_id`, `event_type`,
 * `schema_version`, `producer`, `occurred_at`, `trace_id`, `resource_type`, `resource_id`,
 * `payload`); see docs/envelope-and-schemas.md. Build one with `envelope()` or
 * `envelopeFactory()`; read one in a handler with `enveloped()` or `readEnvelope()`.
 */
export interface Envelope<T = unknown> {
  /**
   * Unique per event (a UUID v7 from `newEventId()` unless given): the JetStream message id
   * (`Nats-Msg-Id`) and the `Jetroute-Event-Id` header when published, the inbox key when consumed.
   */
  readonly eventId: string;
  /** What happened, e.g. `"order.created"`. */
  readonly eventType: string;
  /** The version of the payload's shape for this event type: an integer >= 1. @default 1 */
  readonly schemaVersion: number;
  /** The service that produced the event, e.g. `"orders"`. */
  readonly producer: string;
  /** When it happened: an ISO 8601 date-time with a time zone, e.g. `"2026-12-01T09:30:00.000Z"`. */
  readonly occurredAt: string;
  /** The OpenTelemetry trace id active when the event was built (32 hex digits), if any. */
  readonly traceId: string | undefined;
  /** The entity the event is about, if any: `{ type: "order", id: "42" }`. */
  readonly resource: EnvelopeResource | undefined;
  readonly payload: T;
}

/** The entity an event is about. */
export interface EnvelopeResource {
  readonly type: string;
  readonly id: string;
}

/** What `envelope()` takes. Every field but `type`, `producer` and `payload` has a default. */
export interface EnvelopeInput<T> {
  /** `eventType`: a non-empty string of at most 256 characters. */
  readonly type: string;
  /** Any JSON value (`null` for none; `undefined` is refused). */
  readonly payload: T;
  /** `producer`: a non-empty string of at most 256 characters. */
  readonly producer: string;
  /** `resource`: `type` a non-empty string, `id` a non-empty string or a safe integer. @default none */
  readonly resource?: { readonly type: string; readonly id: string | number };
  /**
   * `eventId`: 1 to 256 printable ASCII characters without spaces (it becomes `Nats-Msg-Id`).
   * Give one to make a retried build of the same event deduplicate (e.g. from an outbox row).
   * @default newEventId(), a UUID v7
   */
  readonly eventId?: string;
  /** `occurredAt`, as a Date or an ISO 8601 date-time with a time zone; stored as UTC ISO. @default now */
  readonly occurredAt?: Date | string;
  /** `schemaVersion`: an integer >= 1. @default 1 */
  readonly schemaVersion?: number;
  /**
   * `traceId`: a non-empty string of at most 256 characters, or `null` for none.
   * @default the active OpenTelemetry span's trace id, none without one
   */
  readonly traceId?: string | null;
}

/** Headers jetroute puts on a published envelope. */
export const EnvelopeHeader = {
  /** The envelope's `event_id` (also its `Nats-Msg-Id`): read without decoding the payload. */
  EventId: "Jetroute-Event-Id",
} as const;
export type EnvelopeHeader = (typeof EnvelopeHeader)[keyof typeof EnvelopeHeader];
