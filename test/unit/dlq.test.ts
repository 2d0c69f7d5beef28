import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import {
  type DeadLetter,
  type DeadLetterFilter,
  deadLetterToJSON,
  decodeDeadLetter,
  RedriveHeader,
  redriveMsgId,
  resolveDeadLetterFilter,
} from "../../src/dlq/index.js";
import { ErrorCode, isJetrouteError } from "../../src/errors/index.js";

const STORED = new Date("2026-11-30T10:00:00Z");
const NOW = new Date("2026-11-30T12:00:00Z");

function jetrouteLetter(extra: Record<string, string> = {}): DeadLetter {
  const h = natsHeaders();
  h.set("Nats-Msg-Id", "ORDERS:7:billing");
  h.set("X-Trace", "abc");
  h.set(DeadLetterHeader.OriginalSubject, "orders.created");
  h.set(DeadLetterHeader.Stream, "ORDERS");
  h.set(DeadLetterHeader.Sequence, "7");
  h.set(DeadLetterHeader.DeliveryCount, "3");
  h.set(DeadLetterHeader.Error, "Warehouse refuses sku CURSED (delivery 3 of 3)");
  h.set(DeadLetterHeader.Route, "billing");
  h.set(DeadLetterHeader.Durable, "billing-v2");
  h.set(DeadLetterHeader.Time, "2026-11-30T09:59:59.500Z");
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return decodeDeadLetter({
    seq: 42,
    subject: "dlq.orders",
    data: new TextEncoder().encode("{}"),
    headers: h,
    storedAt: STORED,
  });
}

describe("decodeDeadLetter", () => {
  it("decodes every Jetroute header of a dead letter jetroute wrote", () => {
    const l = jetrouteLetter();
    assert.equal(l.seq, 42);
    assert.equal(l.subject, "dlq.orders");
    assert.equal(l.originalSubject, "orders.created");
    assert.equal(l.stream, "ORDERS");
    assert.equal(l.sequence, 7);
    assert.equal(l.deliveryCount, 3);
    assert.equal(l.route, "billing");
    assert.equal(l.durable, "billing-v2");
    assert.equal(l.time?.toISOString(), "2026-11-30T09:59:59.500Z");
    assert.equal(l.msgId, "ORDERS:7:billing");
    assert.equal(l.payloadTruncated, undefined);
    assert.deepEqual(l.problems, []);
  });

  it("keeps only the original's headers, without Jetroute-* and Nats-*", () => {
    assert.deepEqual([...jetrouteLetter().headers], [["X-Trace", ["abc"]]]);
  });

  it("reads the truncation and redrive headers when present", () => {
    const l = jetrouteLetter({
      [DeadLetterHeader.PayloadTruncated]: "4096",
      [DeadLetterHeader.HeadersDropped]: "2",
      [RedriveHeader.RedrivenFrom]: "ORDERS_DLQ:3",
    });
    assert.equal(l.payloadTruncated, 4096);
    assert.equal(l.headersDropped, 2);
    assert.equal(l.redrivenFrom, "ORDERS_DLQ:3");
  });

  it("never throws on a letter without headers: it lists what is missing", () => {
    const l = decodeDeadLetter({
      seq: 1,
      subject: "dlq.x",
      data: new Uint8Array(),
      headers: undefined,
      storedAt: STORED,
    });
    assert.equal(l.originalSubject, undefined);
    assert.equal(l.headers.size, 0);
    assert.ok(l.problems.includes(`no ${DeadLetterHeader.OriginalSubject} header`));
    assert.equal(l.problems.length, 8);
  });

  it("flags unreadable numbers and times instead of guessing", () => {
    const l = jetrouteLetter({
      [DeadLetterHeader.Sequence]: "-1",
      [DeadLetterHeader.Time]: "yesterday",
    });
    assert.equal(l.sequence, undefined);
    assert.equal(l.time, undefined);
    assert.equal(l.problems.length, 2);
  });
});

describe("resolveDeadLetterFilter", () => {
  const letter = jetrouteLetter();
  const matches = (filter: DeadLetterFilter) =>
    resolveDeadLetterFilter(filter, NOW).matches(letter);

  it("matches everything without a filter", () => {
    assert.equal(resolveDeadLetterFilter(undefined).matches(letter), true);
    assert.equal(resolveDeadLetterFilter({}).empty, true);
  });

  it("matches route and durable exactly", () => {
    assert.equal(matches({ route: "billing" }), true);
    assert.equal(matches({ route: "bill" }), false);
    assert.equal(matches({ durable: "billing-v2" }), true);
    assert.equal(matches({ durable: "billing" }), false);
  });

  it("matches the original subject with NATS wildcards", () => {
    assert.equal(matches({ subject: "orders.*" }), true);
    assert.equal(matches({ subject: "orders.>" }), true);
    assert.equal(matches({ subject: "orders.updated" }), false);
  });

  it("matches the reason as a case-insensitive substring or a RegExp", () => {
    assert.equal(matches({ reason: "sku cursed" }), true);
    assert.equal(matches({ reason: /delivery \d of 3/ }), true);
    assert.equal(matches({ reason: /^sku/ }), false);
    // a global RegExp keeps lastIndex between calls: the filter must not
    const filter = resolveDeadLetterFilter({ reason: /CURSED/g }, NOW);
    assert.deepEqual([filter.matches(letter), filter.matches(letter)], [true, true]);
  });

  it("matches the stored time against since and before, durations counted back from now", () => {
    assert.equal(matches({ since: "3h" }), true); // stored 2h before NOW
    assert.equal(matches({ since: "1h" }), false);
    assert.equal(matches({ before: "1h" }), true);
    assert.equal(matches({ before: "3h" }), false);
    assert.equal(matches({ since: STORED }), true);
    assert.equal(matches({ before: "2026-11-30T10:00:00Z" }), false);
  });

  it("accepts times in the future: before matches every letter so far, since none", () => {
    assert.equal(matches({ before: "2999-01-01T00:00:00Z" }), true);
    assert.equal(matches({ since: "2999-01-01T00:00:00Z" }), false);
  });

  it("refuses bad values with ERR_INVALID_OPTION naming the field", () => {
    const cases: Array<[DeadLetterFilter, string]> = [
      [{ route: "" }, "filter.route"],
      [{ durable: 3 as unknown as string }, "filter.durable"],
      [{ reason: "" }, "filter.reason"],
      [{ since: "yesterday" }, "filter.since"],
      [{ since: "12" }, "filter.since"],
      [{ before: "all" }, "filter.before"],
      [{ since: "1h", before: "2h" }, "filter.before"],
      [{ rout: "billing" } as DeadLetterFilter, "filter.rout"],
      [{ route: undefined } as unknown as DeadLetterFilter, "filter.route is undefined"],
      [{ since: undefined } as unknown as DeadLetterFilter, "filter.since is undefined"],
    ];
    for (const [filter, field] of cases) {
      assert.throws(
        () => resolveDeadLetterFilter(filter, NOW),
        (err) =>
          isJetrouteError(err, ErrorCode.InvalidOption) && (err as Error).message.includes(field),
        field,
      );
    }
  });

  it("refuses a bad subject filter with ERR_INVALID_SUBJECT", () => {
    assert.throws(
      () => resolveDeadLetterFilter({ subject: "orders.>.x" }),
      (err) => isJetrouteError(err, ErrorCode.InvalidSubject),
    );
  });
});

describe("redriveMsgId", () => {
  it("is derived from the DLQ stream, the letter's sequence and the target subject", () => {
    assert.equal(
      redriveMsgId("ORDERS_DLQ", 42, "orders.created"),
      "redrive:ORDERS_DLQ:42:orders.created",
    );
  });

  it("differs when the same letter is sent to another subject", () => {
    assert.notEqual(
      redriveMsgId("ORDERS_DLQ", 42, "orders.typo"),
      redriveMsgId("ORDERS_DLQ", 42, "orders.created"),
    );
  });
});

describe("deadLetterToJSON", () => {
  it("gives a letter as plain JSON: ISO times, nulls for missing fields, headers as arrays, payload as base64 and text", () => {
    const json = deadLetterToJSON(jetrouteLetter());
    assert.equal(json.storedAt, STORED.toISOString());
    assert.equal(json.payloadTruncated, null);
    assert.deepEqual(json.headers, { "X-Trace": ["abc"] });
    assert.equal(json.data, Buffer.from("{}").toString("base64"));
    assert.equal(json.text, "{}");
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });

  it("gives no text for a payload that is not UTF-8", () => {
    const letter = { ...jetrouteLetter(), data: new Uint8Array([0xff, 0xfe]) };
    assert.equal(deadLetterToJSON(letter).text, null);
    assert.equal(deadLetterToJSON(letter).size, 2);
  });
});
