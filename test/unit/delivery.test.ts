import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAckSubject } from "../../src/consumer/delivery.js";

describe("parseAckSubject", () => {
  it("reads delivery count and stream sequence from a 2.9-style ack subject", () => {
    assert.deepEqual(parseAckSubject("$JS.ACK.ORDERS.billing.3.1042.1051.1732300000000000000.7"), {
      stream: "ORDERS",
      seq: 1042,
      deliveryCount: 3,
      timestampNanos: "1732300000000000000",
    });
  });

  it("reads them from a subject with domain and account hash", () => {
    assert.deepEqual(
      parseAckSubject("$JS.ACK._.HASH1.ORDERS.billing.1.99.100.1732300000000000000.0"),
      { stream: "ORDERS", seq: 99, deliveryCount: 1, timestampNanos: "1732300000000000000" },
    );
  });

  it("reads them when a trailing random token follows the pending count", () => {
    assert.deepEqual(
      parseAckSubject("$JS.ACK.hub.HASH1.ORDERS.billing.2.7.8.1732300000000000000.5.Xy12"),
      { stream: "ORDERS", seq: 7, deliveryCount: 2, timestampNanos: "1732300000000000000" },
    );
  });

  it("rejects subjects of any other shape", () => {
    for (const subject of [
      "",
      "_INBOX.abc",
      "$JS.ACK.ORDERS.billing.3.1042",
      "$JS.ACK.ORDERS.billing.x.1042.1051.1.7",
      "$JS.ACK.ORDERS.billing.3..1051.1.7",
      "$JS.ACK.ORDERS.billing.0.5.1051.1.7",
      "$JS.ACK.a.b.ORDERS.billing.3.1042.1051.1",
      "$JS.ACK.ORDERS.billing.1.99999999999999999999.1.1.0",
    ]) {
      assert.equal(parseAckSubject(subject), undefined, subject);
    }
  });
});
