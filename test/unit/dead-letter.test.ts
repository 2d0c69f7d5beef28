import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JetStreamApiError } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  headers,
  InvalidArgumentError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import {
  BARE_REASON_MAX_CHARS,
  deadLetterHeaders,
  deadLetterMsgId,
} from "../../src/consumer/dead-letter-headers.js";
import {
  classifyDeadLetterFailure,
  type DeadLetterFailureKind,
  DeadLetterHeader,
  type DeadLetterSource,
} from "../../src/consumer/index.js";
import { ErrDeadLetterFailed, ErrorCode, isJetrouteError } from "../../src/errors/index.js";
import { classifyFailure } from "../../src/producer/classify.js";
import {
  buildRouteSpec,
  type JetStreamRouteSpec,
  route,
  withDLQ,
  withDurable,
  withStream,
  withSubject,
} from "../../src/router/index.js";

const spec = buildRouteSpec(
  route(
    "billing",
    async () => {},
    withStream("ORDERS"),
    withSubject("orders.>"),
    withDLQ("dlq.billing"),
  ),
) as JetStreamRouteSpec;

function apiError(status: number, errCode: number): JetStreamApiError {
  return new JetStreamApiError({ code: status, err_code: errCode, description: "api error" });
}

/** As nats.js 3.4 surfaces a JetStream publish nobody answered. */
function noResponders(): Error {
  const cause = new RequestError("no responders", { cause: new NoRespondersError("dlq.billing") });
  // nats.js wraps it in its (unexported) JetStreamNotEnabled.
  return new Error("jetstream is not enabled", { cause });
}

function source(over: Partial<DeadLetterSource> = {}): DeadLetterSource {
  return {
    subject: "orders.created",
    data: new Uint8Array(10),
    headers: undefined,
    stream: "ORDERS",
    seq: 42,
    deliveryCount: 3,
    ...over,
  };
}

describe("classifyFailure: errors that can never be published as they are", () => {
  it("a stream's max_msg_size exceeded (api error 10054) is tooLarge", () => {
    assert.equal(classifyFailure(apiError(400, 10054)), "tooLarge");
  });

  it("a payload over the server's max_payload (nats.js refuses it) is tooLarge", () => {
    const err = InvalidArgumentError.format("payload", "max_payload size exceeded");
    assert.equal(classifyFailure(err), "tooLarge");
  });

  it("a permissions violation, however wrapped, is permission", () => {
    const pv = new PermissionViolationError("Permissions Violation", "publish", "dlq.billing");
    assert.equal(classifyFailure(new RequestError("failed", { cause: pv })), "permission");
  });

  it("other invalid arguments stay other", () => {
    assert.equal(classifyFailure(new InvalidArgumentError("'subject' is required")), "other");
  });
});

describe("classifyDeadLetterFailure", () => {
  const exists = async () => true;
  const missing = async () => false;
  const cases: [string, unknown, () => Promise<boolean>, DeadLetterFailureKind][] = [
    ["max_msg_size exceeded", apiError(400, 10054), exists, "tooLarge"],
    [
      "max_payload exceeded",
      InvalidArgumentError.format("payload", "max_payload size exceeded"),
      exists,
      "tooLarge",
    ],
    [
      "permissions violation",
      new PermissionViolationError("Permissions Violation", "publish", "dlq.billing"),
      exists,
      "permission",
    ],
    ["no responders and no stream for the subject", noResponders(), missing, "noStream"],
    [
      "no responders while the stream exists (leader election)",
      noResponders(),
      exists,
      "transient",
    ],
    ["503 while the stream exists", apiError(503, 10008), exists, "transient"],
    ["503 and no stream for the subject", apiError(503, 10008), missing, "noStream"],
    ["a timeout", new TimeoutError(), exists, "transient"],
    ["a closed connection", new ClosedConnectionError(), exists, "transient"],
    ["an unknown error", new Error("boom"), exists, "transient"],
    ["a stream full (max_bytes, discard new)", apiError(400, 10047), exists, "transient"],
  ];
  for (const [what, err, streamExists, expected] of cases) {
    it(`${what} is ${expected}`, async () => {
      assert.equal(await classifyDeadLetterFailure(err, streamExists), expected);
    });
  }

  it("asks whether the stream exists only for no responders and 503", async () => {
    let asked = 0;
    const counting = async () => {
      asked++;
      return true;
    };
    await classifyDeadLetterFailure(new TimeoutError(), counting);
    await classifyDeadLetterFailure(apiError(400, 10054), counting);
    assert.equal(asked, 0);
  });
});

describe("dead letter identity and headers", () => {
  it("the message id is <stream>:<seq>:<durable>", () => {
    assert.equal(deadLetterMsgId(source(), spec), "ORDERS:42:billing");
    const other = buildRouteSpec(
      route(
        "shipping",
        async () => {},
        withStream("ORDERS"),
        withSubject("orders.>"),
        withDLQ("dlq.billing"),
        withDurable("ship-v2"),
      ),
    ) as JetStreamRouteSpec;
    assert.equal(deadLetterMsgId(source(), other), "ORDERS:42:ship-v2");
  });

  it("keeps the original headers except Nats-* and adds the trace headers with the durable", () => {
    const h = headers();
    h.set("X-Tenant", "acme");
    h.set("Nats-Expected-Last-Sequence", "7");
    const out = deadLetterHeaders(source({ headers: h }), spec, "card\r\ndeclined");
    assert.equal(out.get("X-Tenant"), "acme");
    assert.equal(out.has("Nats-Expected-Last-Sequence"), false);
    assert.equal(out.get(DeadLetterHeader.Durable), "billing");
    assert.equal(out.get(DeadLetterHeader.Route), "billing");
    assert.equal(out.get(DeadLetterHeader.Stream), "ORDERS");
    assert.equal(out.get(DeadLetterHeader.Sequence), "42");
    assert.equal(out.get(DeadLetterHeader.DeliveryCount), "3");
    assert.equal(out.get(DeadLetterHeader.Error), "card declined");
    assert.equal(out.has(DeadLetterHeader.PayloadTruncated), false);
  });

  it("a letter without its payload says the original size and keeps the original headers", () => {
    const h = headers();
    h.set("X-Tenant", "acme");
    const out = deadLetterHeaders(source({ headers: h }), spec, "declined", "noPayload");
    assert.equal(out.get(DeadLetterHeader.PayloadTruncated), "10");
    assert.equal(out.get("X-Tenant"), "acme");
    assert.equal(out.has(DeadLetterHeader.HeadersDropped), false);
  });

  it("a bare letter drops the original headers, counts them and shortens the reason", () => {
    const h = headers();
    h.set("X-Tenant", "acme");
    h.set("X-Trace", "t-1");
    const long = "x".repeat(BARE_REASON_MAX_CHARS * 2);
    const out = deadLetterHeaders(source({ headers: h }), spec, long, "bare");
    assert.equal(out.has("X-Tenant"), false);
    assert.equal(out.get(DeadLetterHeader.HeadersDropped), "2");
    assert.equal(out.get(DeadLetterHeader.PayloadTruncated), "10");
    assert.equal(out.get(DeadLetterHeader.Error).length, BARE_REASON_MAX_CHARS);
    assert.equal(out.get(DeadLetterHeader.Stream), "ORDERS");
  });
});

describe("ErrDeadLetterFailed", () => {
  it("carries route, DLQ subject and stream:seq, with a stable code", () => {
    const err = new ErrDeadLetterFailed({
      route: "billing",
      dlq: "dlq.billing",
      stream: "ORDERS",
      seq: 42,
      fix: 'create a stream storing "dlq.billing"',
    });
    assert.equal(err.code, ErrorCode.DeadLetterFailed);
    assert.ok(isJetrouteError(new Error("wrapped", { cause: err }), ErrorCode.DeadLetterFailed));
    assert.deepEqual(
      [err.route, err.dlq, err.stream, err.seq],
      ["billing", "dlq.billing", "ORDERS", 42],
    );
  });
});
