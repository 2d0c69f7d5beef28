// Schema validation without a server: issues in jetroute's plain form, the bounded
// Jetroute-Schema-Issues header, reject() with issues, the settlement that carries them, the
// adapters run with jetroute/testing's runHandler, and typed errors for bad adapter input.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headers as natsHeaders } from "@nats-io/nats-core";
import * as v from "valibot";
import { z } from "zod";
import { deadLetterHeaders } from "../../src/consumer/dead-letter-headers.js";
import { decideSettlement } from "../../src/consumer/index.js";
import { decodeDeadLetter } from "../../src/dlq/index.js";
import { enveloped } from "../../src/envelope/index.js";
import { ErrHandlerRequired, ErrInvalidOption, ErrorCode } from "../../src/errors/index.js";
import { silentLogger } from "../../src/logger/index.js";
import { serviceErrorOf } from "../../src/producer/headers.js";
import {
  buildRouteSpec,
  type JetStreamRouteSpec,
  reject,
  route,
  withRequestReply,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import {
  decodeIssuesHeader,
  encodeIssuesHeader,
  SCHEMA_ISSUES_HEADER_MAX_CHARS,
  SchemaIssuesHeader,
  toSchemaIssues,
  validated,
} from "../../src/schema/index.js";
import { runHandler } from "../../src/testing/index.js";

const Order = z.object({ id: z.string(), amount: z.number() });

function jsRoute(handler: Parameters<typeof route>[1]) {
  return route("r", handler, withStream("S"), withSubject("s.x"));
}

describe("schema issues", () => {
  it("Standard Schema paths become strings and numbers: { key } segments unwrapped, symbols named", () => {
    const sym = Symbol("meta");
    assert.deepEqual(
      toSchemaIssues([
        { message: "bad", path: ["items", { key: 0 }, { key: "price" }] },
        { message: "also", path: [sym] },
        { message: "root" },
        { message: "", path: [] },
      ]),
      [
        { message: "bad", path: ["items", 0, "price"] },
        { message: "also", path: ["meta"] },
        { message: "root" },
        { message: "invalid value" },
      ],
    );
  });

  it("a failure without issues still says validation failed", () => {
    assert.equal(toSchemaIssues([]).length, 1);
    assert.equal(toSchemaIssues(undefined).length, 1);
  });

  it("the header is one ASCII line of JSON that reads back to the same issues", () => {
    const issues = [{ message: "doit être positif\nvraiment", path: ["montant", 0] }];
    const { value, omitted } = encodeIssuesHeader(issues);
    assert.equal(omitted, 0);
    assert.match(value, /^[\x20-\x7e]+$/);
    assert.deepEqual(decodeIssuesHeader(value), issues);
  });

  it("the header stays within its size: long messages are shortened, issues that do not fit are counted", () => {
    const issues = Array.from({ length: 100 }, (_, i) => ({
      message: "m".repeat(1000),
      path: Array.from({ length: 30 }, () => `field${i}`),
    }));
    const { value, omitted } = encodeIssuesHeader(issues);
    assert.ok(value.length <= SCHEMA_ISSUES_HEADER_MAX_CHARS);
    const back = decodeIssuesHeader(value) ?? [];
    assert.ok(back.length >= 1);
    assert.equal(back.length + omitted, 100);
    assert.equal(back[0]?.message.length, 256);
    assert.equal(back[0]?.path?.length, 17);
    assert.equal(back[0]?.path?.[16], "…");
  });

  it("a header that is not a list of issues reads as undefined", () => {
    for (const bad of ["", "{", "{}", '[{"path":[]}]', '[{"message":"m","path":[{}]}]']) {
      assert.equal(decodeIssuesHeader(bad), undefined, bad);
    }
  });
});

describe("reject() with issues", () => {
  it("keeps them in jetroute's form; an empty list counts as none", () => {
    const o = reject("bad", { code: 400, issues: [{ message: "m", path: [{ key: "a" }] }] });
    assert.equal(o.kind, "reject");
    assert.deepEqual(o.kind === "reject" && o.issues, [{ message: "m", path: ["a"] }]);
    const none = reject("bad", { issues: [] });
    assert.equal(none.kind === "reject" && "issues" in none, false);
  });

  it("issues that are not an array throw ErrInvalidOption", () => {
    assert.throws(() => reject("bad", { issues: "amount" as never }), ErrInvalidOption);
  });

  it("the dead-letter settlement carries them, at any delivery", () => {
    const spec = buildRouteSpec(jsRoute(async () => {})) as JetStreamRouteSpec;
    const issues = [{ message: "m", path: ["a"] }];
    const outcome = reject("bad", { issues });
    assert.deepEqual(decideSettlement({ kind: "outcome", outcome }, 1, spec, silentLogger()), {
      kind: "dead-letter",
      reason: "bad",
      issues,
    });
  });

  it("the dead letter's headers carry them, and decodeDeadLetter reads them back", () => {
    const spec = buildRouteSpec(jsRoute(async () => {})) as JetStreamRouteSpec;
    const issues = [{ message: "Expected number", path: ["amount"] }];
    const source = {
      subject: "s.x",
      data: new Uint8Array(),
      headers: undefined,
      stream: "S",
      seq: 3,
      deliveryCount: 1,
    };
    for (const fit of ["whole", "noPayload", "bare"] as const) {
      const h = deadLetterHeaders(source, spec, "bad", fit, issues);
      const letter = decodeDeadLetter({
        seq: 1,
        subject: "dlq",
        data: new Uint8Array(),
        headers: h,
        storedAt: new Date(),
      });
      assert.deepEqual(letter.schemaIssues, issues, fit);
      assert.equal(letter.schemaIssuesOmitted, undefined);
      assert.deepEqual(letter.problems, []);
    }
    const plain = deadLetterHeaders(source, spec, "bad");
    assert.equal(plain.has(SchemaIssuesHeader.Issues), false);
  });

  it("a dead letter with an unreadable issues header decodes with a problem", () => {
    const h = natsHeaders();
    h.set(SchemaIssuesHeader.Issues, "not json");
    const letter = decodeDeadLetter({
      seq: 1,
      subject: "dlq",
      data: new Uint8Array(),
      headers: h,
      storedAt: new Date(),
    });
    assert.equal(letter.schemaIssues, undefined);
    assert.ok(letter.problems.includes("Jetroute-Schema-Issues is not a JSON list of issues"));
  });

  it("an error reply's issues are read from its body, else from its header", () => {
    const h = natsHeaders();
    h.set("Nats-Service-Error", "bad");
    h.set("Nats-Service-Error-Code", "400");
    h.set(SchemaIssuesHeader.Issues, '[{"message":"short"}]');
    const body = new TextEncoder().encode('[{"message":"complete","path":["a"]}]');
    assert.deepEqual(serviceErrorOf("s", h, body)?.issues, [{ message: "complete", path: ["a"] }]);
    assert.deepEqual(serviceErrorOf("s", h, new Uint8Array())?.issues, [{ message: "short" }]);
    h.delete(SchemaIssuesHeader.Issues);
    assert.equal(serviceErrorOf("s", h, body)?.issues, undefined);
  });
});

describe("validated() and enveloped() with runHandler", () => {
  it("a valid payload reaches the handler parsed; an invalid one is dead-lettered with its issues", async () => {
    const seen: unknown[] = [];
    const r = jsRoute(
      validated(v.object({ id: v.string(), n: v.optional(v.number(), 7) }), async (value) => {
        seen.push(value);
      }),
    );
    const ok = await runHandler(r, { data: { id: "a" } });
    assert.equal(ok.kind === "jetstream" && ok.settlement.kind, "ack");
    assert.deepEqual(seen, [{ id: "a", n: 7 }]);
    const bad = await runHandler(r, { data: { id: 1 } });
    assert.ok(bad.kind === "jetstream" && bad.settlement.kind === "dead-letter");
    assert.deepEqual(
      bad.settlement.kind === "dead-letter" && bad.settlement.issues?.map((i) => i.path),
      [["id"]],
    );
  });

  it("a request-reply route answers 400 with the issues", async () => {
    const r = route(
      "q",
      validated(Order, async (o) => o.amount),
      withSubject("svc.q"),
      withRequestReply(),
    );
    const res = await runHandler(r, { data: { id: "a", amount: "x" } });
    assert.ok(res.kind === "request" && res.reply.kind === "error");
    assert.equal(res.reply.kind === "error" && res.reply.code, 400);
    assert.deepEqual(res.reply.kind === "error" && res.reply.issues?.map((i) => i.path), [
      ["amount"],
    ]);
  });

  it("bad input to the adapters throws typed errors when the route is declared", () => {
    const fn = async () => {};
    for (const notSchema of [
      undefined,
      null,
      {},
      { "~standard": { version: 2, validate: fn } },
      fn,
    ]) {
      assert.throws(
        () => validated(notSchema as never, fn),
        (err: unknown) => {
          assert.ok(err instanceof ErrInvalidOption);
          assert.equal(err.code, ErrorCode.InvalidOption);
          assert.match(err.message, /validated schema must be a Standard Schema v1/);
          return true;
        },
      );
    }
    assert.throws(() => validated(Order, undefined as never), ErrHandlerRequired);
    assert.throws(() => enveloped(Order, "handler" as never), ErrHandlerRequired);
    assert.throws(() => enveloped(undefined as never), ErrHandlerRequired);
    assert.throws(() => enveloped({} as never, fn), ErrInvalidOption);
  });
});
