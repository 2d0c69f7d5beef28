import assert from "node:assert/strict";
import { test } from "node:test";
import type { Msg } from "@nats-io/nats-core";
import { PendingQueue } from "../../src/core/pending.js";

/** Stand-ins for nats.js messages: the queue only stores and returns them. */
function msgs(n: number): Msg[] {
  return Array.from({ length: n }, (_, i) => ({ subject: `s.${i}` }) as Msg);
}

test("waiting messages come out oldest first, each with its own arrival time", () => {
  const q = new PendingQueue();
  const [a, b, c] = msgs(3) as [Msg, Msg, Msg];
  q.push(a, 10);
  q.push(b, 20);
  q.push(c, 30);
  assert.equal(q.size, 3);
  assert.equal(q.take(), a);
  assert.equal(q.takenArrival, 10);
  assert.equal(q.take(), b);
  assert.equal(q.takenArrival, 20);
  assert.equal(q.take(), c);
  assert.equal(q.takenArrival, 30);
  assert.equal(q.take(), undefined);
  assert.equal(q.size, 0);
});

test("order holds across refills and across the compaction of a long queue that never empties", () => {
  const q = new PendingQueue();
  const all = msgs(10_000);
  const out: Msg[] = [];
  let pushed = 0;
  // Keep ~3000 waiting while taking: the consumed prefix passes the compaction threshold often.
  while (pushed < 3_000) q.push(all[pushed] as Msg, pushed++);
  while (q.size > 0) {
    const m = q.take();
    assert.ok(m);
    assert.equal(q.takenArrival, out.length, "arrival stays paired with its message");
    out.push(m);
    if (pushed < all.length) q.push(all[pushed] as Msg, pushed++);
  }
  assert.deepEqual(out, all);
  for (const m of all.slice(0, 5)) q.push(m, 0);
  assert.deepEqual([q.take(), q.take()], all.slice(0, 2));
  assert.equal(q.size, 3);
});

test("forEach visits every waiting message oldest first, and clear forgets them", () => {
  const q = new PendingQueue();
  const all = msgs(5);
  for (const m of all) q.push(m, 1);
  q.take();
  const seen: Msg[] = [];
  q.forEach((m) => {
    seen.push(m);
  });
  assert.deepEqual(seen, all.slice(1));
  q.clear();
  assert.equal(q.size, 0);
  assert.equal(q.take(), undefined);
});
