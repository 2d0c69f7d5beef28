import { context, trace } from "@opentelemetry/api";
import { ErrInvalidEnvelope } from "../errors/index.js";
import { summarizeIssues } from "../schema/issues.js";
import { newEventId } from "./id.js";
import type { Envelope, EnvelopeInput } from "./types.js";
import {
  type EnvelopeCandidate,
  envelopeIssues,
  type FieldPaths,
  isIsoDateTime,
  OBJECT_PATHS,
  toEnvelope,
} from "./wire.js";

/** Issue paths of `envelope()`: the input's own names (the envelope's, but `type`). */
const INPUT_PATHS: FieldPaths = { ...OBJECT_PATHS, eventType: ["type"] };

/**
 * Builds an {@link Envelope}: `eventId` a new UUID v7 (`newEventId()`), `occurredAt` now,
 * `schemaVersion` 1 and `traceId` the active OpenTelemetry span's trace id, unless given.
 * Throws ErrInvalidEnvelope listing every bad field (`issues`, paths in the input's names, e.g.
 * `["resource", "id"]`). The result is frozen.
 * @example
 * const event = envelope({
 *   type: "order.created",
 *   producer: "orders",
 *   resource: { type: "order", id: order.id },
 *   payload: order,
 * });
 * await publishEnvelope(producer, "orders.created", event);
 */
export function envelope<T>(input: EnvelopeInput<T>): Envelope<T> {
  if (typeof input !== "object" || input === null) {
    const issues = [{ message: "envelope() takes an object: { type, producer, payload, ... }" }];
    throw new ErrInvalidEnvelope(summarizeIssues("invalid envelope input", issues), issues);
  }
  const resource = input.resource as unknown;
  const hasResource = resource !== undefined && resource !== null;
  const resourceObject = typeof resource === "object" && resource !== null;
  const r = resourceObject ? (resource as { type?: unknown; id?: unknown }) : {};
  const id = r.id;
  const c: EnvelopeCandidate = {
    eventId: input.eventId === undefined ? newEventId() : input.eventId,
    eventType: input.type,
    schemaVersion: input.schemaVersion ?? 1,
    producer: input.producer,
    occurredAt: occurredAt(input.occurredAt),
    traceId: input.traceId === undefined ? activeTraceId() : input.traceId,
    resourceType: r.type,
    resourceId: typeof id === "number" && Number.isSafeInteger(id) ? String(id) : id,
    payload: input.payload,
  };
  const issues = envelopeIssues(c, INPUT_PATHS);
  // envelopeIssues reports a missing half; a resource that is no object, or `{}`, must not
  // pass as "no resource".
  if (hasResource && (!resourceObject || (r.type === undefined && r.id === undefined))) {
    issues.push({ message: "must be { type, id }", path: ["resource"] });
  }
  if (issues.length > 0) {
    throw new ErrInvalidEnvelope(summarizeIssues("invalid envelope input", issues), issues);
  }
  return toEnvelope<T>(c);
}

/** What `envelopeFactory()` fills in: the producer, and optionally the schema version. */
export interface EnvelopeDefaults {
  /** The `producer` of every envelope the factory builds, unless one is given. */
  readonly producer: string;
  /** @default 1 */
  readonly schemaVersion?: number;
}

/** `envelope()` with the producer (and schema version) filled in. */
export type EnvelopeBuilder = <T>(
  input: Omit<EnvelopeInput<T>, "producer"> & { readonly producer?: string },
) => Envelope<T>;

/**
 * An `envelope()` that fills in this service's producer name (and a schema version), so call
 * sites give only what changes. The defaults are checked here: a bad producer throws
 * ErrInvalidEnvelope now, not at the first event.
 * @example
 * const event = envelopeFactory({ producer: "orders" });
 * await publishEnvelope(producer, "orders.created", event({ type: "order.created", payload: order }));
 */
export function envelopeFactory(defaults: EnvelopeDefaults): EnvelopeBuilder {
  const producer = defaults?.producer;
  const schemaVersion = defaults?.schemaVersion;
  // Checked once through envelope() itself: the same rules, the same error.
  envelope({
    type: "check",
    producer,
    payload: null,
    eventId: "check",
    ...(schemaVersion === undefined ? {} : { schemaVersion }),
  });
  return <T>(input: Omit<EnvelopeInput<T>, "producer"> & { readonly producer?: string }) =>
    envelope<T>({
      ...(schemaVersion === undefined ? {} : { schemaVersion }),
      ...input,
      producer: input?.producer ?? producer,
    } as EnvelopeInput<T>);
}

function occurredAt(value: unknown): unknown {
  if (value === undefined) return new Date().toISOString();
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  // A valid string is stored in one form (UTC, ms): envelopes sort and compare as text.
  return typeof value === "string" && isIsoDateTime(value) ? new Date(value).toISOString() : value;
}

/** The trace id of the span active now, if it is a valid (sampled or not) one. */
function activeTraceId(): string | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc !== undefined && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}
