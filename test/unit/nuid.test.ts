import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createInbox, Nuid } from "@nats-io/nats-core";

// @nats-io/nuid 3.0 declares `engines: node >= 22`, while jetroute supports Node 20. Its code needs
// only ES2022, BigInt and `globalThis.crypto.getRandomValues` (global since Node 19), and it falls
// back to Math.random without a word when WebCrypto is missing: these tests pin that the path
// jetroute uses (`createInbox()` for its pull inboxes, and nats.js's own request inboxes and
// JetStream ids) gives unique, well-formed ids on the Node that runs them.
const INBOX = /^_INBOX\.[0-9A-Za-z]{22}$/;
const NUID = /^[0-9A-Za-z]{22}$/;

describe(`nuid on Node ${process.versions.node}`, () => {
  it("has WebCrypto, so the random prefix does not come from Math.random", () => {
    assert.equal(typeof globalThis.crypto?.getRandomValues, "function");
  });

  it("gives unique, well-formed inboxes from createInbox", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const inbox = createInbox();
      assert.match(inbox, INBOX);
      seen.add(inbox);
    }
    assert.equal(seen.size, 200_000);
  });

  it("gives two generators different random prefixes", () => {
    const a = new Nuid().next();
    const b = new Nuid().next();
    assert.notEqual(a.slice(0, 12), b.slice(0, 12));
  });

  it("stays unique and well-formed across a sequence rollover", () => {
    // The generator's sequence fields are public in nuid's implementation class, not in its type.
    const n = new Nuid() as Nuid & { seqHi: number; seqLo: number };
    const first = n.next();
    // Park the 62^10 sequence (two 32-bit halves) just below its end: the next id rolls the
    // prefix over, the path that uses BigInt-derived bounds.
    const max = 62n ** 10n;
    n.seqHi = Number(max / 2n ** 32n);
    n.seqLo = Number(max % 2n ** 32n) - 1;
    const ids = [first, n.next(), n.next(), n.next()];
    for (const id of ids) assert.match(id, NUID);
    assert.equal(new Set(ids).size, ids.length);
    assert.notEqual(ids[1]?.slice(0, 12), first.slice(0, 12));
  });
});
