// The envelope without a server: building (defaults, typed errors for bad input), the event id,
// the wire form, decoding and its issues, the codec, and the publish options.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { context, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  decodeEnvelope,
  EnvelopeHeader,
  encodeEnvelope,
  envelope,
  envelopeCodec,
  envelopeFactory,
  envelopePublishOptions,
  newEventId,
} from "../../src/envelope/index.js";
import { isIsoDateTime } from "../../src/envelope/wire.js";
import {
  ErrDecode,
  ErrEncode,
  ErrInvalidEnvelope,
  ErrorCode,
  isJetrouteError,
} from "../../src/errors/index.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const encoder = new TextEncoder();

/** The ErrInvalidEnvelope `fn` throws (fails the test otherwise). */
function invalid(fn: () => unknown): ErrInvalidEnvelope {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ErrInvalidEnvelope, `expected ErrInvalidEnvelope, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.InvalidEnvelope);
    return err;
  }
  assert.fail("expected ErrInvalidEnvelope");
}

const paths = (err: ErrInvalidEnvelope) => err.issues.map((i) => (i.path ?? []).join("."));

describe("newEventId", () => {
  it("makes UUID v7s whose first 48 bits are the current time in ms", () => {
    const before = Date.now();
    const id = newEventId();
    assert.match(id, UUID_V7);
    const ms = Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
    assert.ok(ms >= before && ms <= Date.now());
  });

  it("ids made one after another are unique and sort in the order they were made", () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });
});

describe("envelope()", () => {
  it("fills in the event id, the time, schema version 1, and no trace without an active span", () => {
    const before = Date.now();
    const e = envelope({ type: "order.created", producer: "orders", payload: { id: "o-1" } });
    assert.match(e.eventId, UUID_V7);
    const at = Date.parse(e.occurredAt);
    assert.ok(at >= before && at <= Date.now());
    assert.equal(e.occurredAt, new Date(at).toISOString());
    assert.equal(e.schemaVersion, 1);
    assert.equal(e.traceId, undefined);
    assert.equal(e.resource, undefined);
    assert.deepEqual(e.payload, { id: "o-1" });
    assert.ok(Object.isFrozen(e));
  });

  it("keeps what is given: id, time (as UTC ISO), version, trace id, resource (a numeric id as text)", () => {
    const e = envelope({
      type: "t",
      producer: "p",
      payload: null,
      eventId: "order-42-created",
      occurredAt: "2026-12-01T10:30:00+01:00",
      schemaVersion: 3,
      traceId: "abc",
      resource: { type: "order", id: 42 },
    });
    assert.equal(e.eventId, "order-42-created");
    assert.equal(e.occurredAt, "2026-12-01T09:30:00.000Z");
    assert.equal(e.schemaVersion, 3);
    assert.equal(e.traceId, "abc");
    assert.deepEqual(e.resource, { type: "order", id: "42" });
    assert.equal(e.payload, null);
  });

  describe("with an active OpenTelemetry span", () => {
    before(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    });
    after(() => context.disable());

    it("takes the trace id of the active span, and none when given null", () => {
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const span = trace.wrapSpanContext({
        traceId,
        spanId: "00f067aa0ba902b7",
        traceFlags: TraceFlags.SAMPLED,
      });
      context.with(trace.setSpan(context.active(), span), () => {
        assert.equal(envelope({ type: "t", producer: "p", payload: 1 }).traceId, traceId);
        const none = envelope({ type: "t", producer: "p", payload: 1, traceId: null });
        assert.equal(none.traceId, undefined);
      });
      assert.equal(envelope({ type: "t", producer: "p", payload: 1 }).traceId, undefined);
    });
  });

  it("bad input throws ErrInvalidEnvelope listing every bad field by its input name", () => {
    const err = invalid(() =>
      envelope({
        type: "",
        producer: "p\nq",
        payload: undefined,
        eventId: "has space",
        occurredAt: "2026-02-30T00:00:00Z",
        schemaVersion: 0,
        resource: { type: "order", id: "" },
      }),
    );
    assert.deepEqual(paths(err), [
      "eventId",
      "type",
      "producer",
      "schemaVersion",
      "occurredAt",
      "resource.id",
      "payload",
    ]);
    assert.match(err.message, /^ERR_INVALID_ENVELOPE: invalid envelope input: eventId: /);
  });

  it("refuses an invalid Date, a half resource, a resource that is not { type, id }, and a non-object", () => {
    assert.deepEqual(
      paths(
        invalid(() =>
          envelope({ type: "t", producer: "p", payload: 1, occurredAt: new Date(Number.NaN) }),
        ),
      ),
      ["occurredAt"],
    );
    assert.deepEqual(
      paths(
        invalid(() =>
          envelope({ type: "t", producer: "p", payload: 1, resource: { type: "order" } as never }),
        ),
      ),
      ["resource.id"],
    );
    assert.deepEqual(
      paths(
        invalid(() => envelope({ type: "t", producer: "p", payload: 1, resource: {} as never })),
      ),
      ["resource"],
    );
    assert.deepEqual(
      paths(
        invalid(() =>
          envelope({ type: "t", producer: "p", payload: 1, resource: "order" as never }),
        ),
      ),
      ["resource"],
    );
    invalid(() => envelope(undefined as never));
  });

  it("an event id longer than 256 characters is refused (it becomes Nats-Msg-Id)", () => {
    const err = invalid(() =>
      envelope({ type: "t", producer: "p", payload: 1, eventId: "x".repeat(257) }),
    );
    assert.deepEqual(paths(err), ["eventId"]);
  });
});

describe("envelopeFactory()", () => {
  it("fills in the producer and schema version; a call may still give its own", () => {
    const make = envelopeFactory({ producer: "orders", schemaVersion: 2 });
    const e = make({ type: "order.created", payload: { id: 1 } });
    assert.equal(e.producer, "orders");
    assert.equal(e.schemaVersion, 2);
    const own = make({ type: "t", payload: 1, producer: "billing", schemaVersion: 5 });
    assert.equal(own.producer, "billing");
    assert.equal(own.schemaVersion, 5);
  });

  it("checks its defaults when it is made", () => {
    assert.deepEqual(paths(invalid(() => envelopeFactory({ producer: "" }))), ["producer"]);
    assert.deepEqual(paths(invalid(() => envelopeFactory({ producer: "p", schemaVersion: 1.5 }))), [
      "schemaVersion",
    ]);
    invalid(() => envelopeFactory(undefined as never));
  });
});

describe("the wire form", () => {
  it("encodes snake_case fields and decodes them back to the same envelope", () => {
    const e = envelope({
      type: "order.created",
      producer: "orders",
      traceId: "t1",
      resource: { type: "order", id: "o-1" },
      payload: { amount: 3, items: ["a"] },
    });
    const bytes = encodeEnvelope(e);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes)), {
      event_id: e.eventId,
      event_type: "order.created",
      schema_version: 1,
      producer: "orders",
      occurred_at: e.occurredAt,
      trace_id: "t1",
      resource_type: "order",
      resource_id: "o-1",
      payload: { amount: 3, items: ["a"] },
    });
    assert.deepEqual(decodeEnvelope(bytes), e);
  });

  it("leaves trace_id and the resource out when there are none, and ignores unknown fields", () => {
    const e = envelope({ type: "t", producer: "p", payload: 0 });
    const wire = JSON.parse(new TextDecoder().decode(encodeEnvelope(e)));
    assert.equal("trace_id" in wire, false);
    assert.equal("resource_type" in wire, false);
    const withExtra = encoder.encode(JSON.stringify({ ...wire, region: "eu", trace_id: null }));
    assert.deepEqual(decodeEnvelope(withExtra), e);
  });

  it("decoding a malformed envelope throws ErrInvalidEnvelope with every issue by wire name", () => {
    const err = invalid(() =>
      decodeEnvelope(
        encoder.encode(
          JSON.stringify({
            event_id: "",
            event_type: 5,
            producer: "p",
            occurred_at: "2026-12-01",
            resource_type: "order",
          }),
        ),
      ),
    );
    assert.deepEqual(paths(err), [
      "event_id",
      "event_type",
      "schema_version",
      "occurred_at",
      "resource_id",
      "payload",
    ]);
  });

  it("bytes that are not JSON, or JSON that is not an object, are invalid envelopes", () => {
    assert.match(
      invalid(() => decodeEnvelope(encoder.encode("{"))).issues[0]?.message ?? "",
      /^not valid JSON/,
    );
    assert.match(
      invalid(() => decodeEnvelope(new Uint8Array([0xff]))).issues[0]?.message ?? "",
      /^not valid JSON/,
    );
    assert.deepEqual(invalid(() => decodeEnvelope(encoder.encode("[1]"))).issues, [
      { message: "an envelope must be a JSON object" },
    ]);
  });

  it("encoding checks the envelope (ErrInvalidEnvelope) and its payload (ErrEncode)", () => {
    const e = envelope({ type: "t", producer: "p", payload: 1 });
    invalid(() => encodeEnvelope({ ...e, occurredAt: "now" }));
    assert.throws(() => encodeEnvelope({ ...e, payload: 1n }), ErrEncode);
  });
});

describe("occurred_at", () => {
  it("accepts ISO 8601 date-times with a zone whose date and time exist", () => {
    for (const ok of [
      "2026-12-01T09:30:00Z",
      "2026-12-01T09:30:00.123456789Z",
      "2026-12-01t09:30:00z",
      "2028-02-29T00:00:00+05:30",
      "2000-02-29T23:59:59-12:00",
    ]) {
      assert.equal(isIsoDateTime(ok), true, ok);
    }
    for (const bad of [
      "2026-12-01",
      "2026-12-01T09:30Z",
      "2026-12-01T09:30:00",
      "2026-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-00-10T00:00:00Z",
      "2026-12-01T24:00:00Z",
      "2026-12-01T09:60:00Z",
      "2026-12-01T09:30:60Z",
      "2026-12-01T09:30:00+24:00",
      "2026-12-01T09:30:00+01:60",
      " 2026-12-01T09:30:00Z",
    ]) {
      assert.equal(isIsoDateTime(bad), false, bad);
    }
  });
});

describe("envelopeCodec()", () => {
  it("round-trips, throwing ErrEncode / ErrDecode whose cause is the envelope's problem", () => {
    const codec = envelopeCodec<{ n: number }>();
    const e = envelope({ type: "t", producer: "p", payload: { n: 1 } });
    assert.deepEqual(codec.decode(codec.encode(e)), e);
    const decodeErr = (() => {
      try {
        codec.decode(encoder.encode("{}"));
      } catch (err) {
        return err;
      }
    })();
    assert.ok(decodeErr instanceof ErrDecode);
    assert.ok(isJetrouteError(decodeErr, ErrorCode.InvalidEnvelope));
    assert.throws(() => codec.encode({ ...e, eventId: "" }), ErrEncode);
  });
});

describe("envelopePublishOptions()", () => {
  it("sets msgId and Jetroute-Event-Id to the event id, the envelope codec, and keeps the caller's headers", () => {
    const e = envelope({ type: "t", producer: "p", payload: 1 });
    const o = envelopePublishOptions(e, {
      headers: { "X-Tenant": "acme" },
      expectStream: "ORDERS",
    });
    assert.equal(o.msgId, e.eventId);
    assert.equal(o.codec?.name, "envelope");
    assert.equal(o.expectStream, "ORDERS");
    const h = o.headers as { get(k: string): string };
    assert.equal(h.get(EnvelopeHeader.EventId), e.eventId);
    assert.equal(h.get("X-Tenant"), "acme");
  });

  it("refuses what is not an envelope", () => {
    invalid(() => envelopePublishOptions({ eventId: "x" } as never));
    invalid(() => envelopePublishOptions(null as never));
  });
});
