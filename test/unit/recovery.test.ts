import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RecoveryPlan, recoveryPlan, type StreamIdentity } from "../../src/consumer/index.js";

const T0 = "2026-11-29T10:00:00.000000001Z";
const T1 = "2026-11-29T10:05:00.000000002Z";

function stream(over: Partial<StreamIdentity>): StreamIdentity {
  return { created: T0, retention: "limits", firstSeq: 1, lastSeq: 100, ...over };
}

interface Row {
  readonly name: string;
  readonly previous: StreamIdentity;
  readonly now: StreamIdentity;
  readonly floor: number;
  readonly plan: RecoveryPlan;
}

const rows: readonly Row[] = [
  {
    name: "a limits stream resumes after the ack floor",
    previous: stream({}),
    now: stream({}),
    floor: 40,
    plan: { deliver: { startSeq: 41 }, streamRecreated: false },
  },
  {
    name: "a limits stream with nothing acked starts where the route starts (withStartAt)",
    previous: stream({}),
    now: stream({}),
    floor: 0,
    plan: { deliver: "start", streamRecreated: false },
  },
  {
    name: "a work-queue stream starts at its first stored message (acked ones are deleted)",
    previous: stream({ retention: "workqueue" }),
    now: stream({ retention: "workqueue", firstSeq: 41 }),
    floor: 40,
    plan: { deliver: "all", streamRecreated: false },
  },
  {
    name: "an interest stream starts at its first stored message (acked ones are deleted)",
    previous: stream({ retention: "interest" }),
    now: stream({ retention: "interest", firstSeq: 41 }),
    floor: 40,
    plan: { deliver: "all", streamRecreated: false },
  },
  {
    name: "a stream created again (new created time) is consumed from its first message",
    previous: stream({}),
    now: stream({ created: T1, lastSeq: 5 }),
    floor: 40,
    plan: { deliver: "all", streamRecreated: true },
  },
  {
    name: "a stream created again that already passed the old floor is still a new stream",
    previous: stream({}),
    now: stream({ created: T1, lastSeq: 500 }),
    floor: 40,
    plan: { deliver: "all", streamRecreated: true },
  },
  {
    name: "a last sequence below the ack floor means a new stream, whatever its created time",
    previous: stream({}),
    now: stream({ lastSeq: 10 }),
    floor: 40,
    plan: { deliver: "all", streamRecreated: true },
  },
  {
    name: "a purged stream (last sequence kept) is the same stream",
    previous: stream({}),
    now: stream({ firstSeq: 101, lastSeq: 100 }),
    floor: 40,
    plan: { deliver: { startSeq: 41 }, streamRecreated: false },
  },
  {
    name: "a work-queue stream created again is consumed from its first message",
    previous: stream({ retention: "workqueue" }),
    now: stream({ retention: "workqueue", created: T1, lastSeq: 0, firstSeq: 0 }),
    floor: 40,
    plan: { deliver: "all", streamRecreated: true },
  },
];

describe("recoveryPlan: how a lost consumer is recreated", () => {
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(recoveryPlan(row.previous, row.now, row.floor), row.plan);
    });
  }
});
