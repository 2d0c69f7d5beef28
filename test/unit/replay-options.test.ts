import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ConsumerConfig, DeliverPolicy } from "@nats-io/jetstream";
import type { Connection } from "../../src/conn/types.js";
import { ErrorCode } from "../../src/errors/index.js";
import type { Producer } from "../../src/producer/types.js";
import { replayPlan } from "../../src/replay/options.js";
import { restartConfig } from "../../src/replay/reset.js";
import type { ReplayOptions } from "../../src/replay/types.js";
import { route, withFanOut, withStream, withSubject } from "../../src/router/index.js";

// No connection is used when a producer is given: validation is pure (it only has the shape).
const conn = {
  nats: {},
  jetstream: {},
  jetstreamManager: async () => ({}),
  serverVersion: () => [2, 15, 1],
} as unknown as Connection;
const producer = {} as Producer;
const r = route("r", async () => {}, withStream("S"), withSubject("s.in"));
const plan = (o: Partial<ReplayOptions>) =>
  replayPlan(conn, r, { from: "all", producer, ...o } as ReplayOptions);

describe("replay options", () => {
  it("defaults to the stream's end, concurrency 1 and a 250 ms progress interval", () => {
    const p = plan({});
    assert.deepEqual(p.to, { kind: "end" });
    assert.equal(p.concurrency, 1);
    assert.equal(p.progressIntervalMs, 250);
  });

  it("takes a sequence, a time and a duration back as the start", () => {
    assert.deepEqual(plan({ from: 42 }).from, { kind: "seq", seq: 42 });
    assert.equal(plan({ from: "2026-01-01T00:00:00Z" }).from.kind, "time");
    assert.deepEqual(plan({ from: "2h" }).from, { kind: "ago", ms: 7_200_000 });
  });

  for (const from of ["new", "last-per-subject", 0, "soon", undefined]) {
    it(`refuses ${JSON.stringify(from)} as the start with ERR_INVALID_OPTION`, () => {
      assert.throws(() => plan({ from: from as never }), { code: ErrorCode.InvalidOption });
    });
  }

  for (const to of ["all", "new", -1]) {
    it(`refuses ${JSON.stringify(to)} as the end with ERR_INVALID_OPTION`, () => {
      assert.throws(() => plan({ to: to as never }), { code: ErrorCode.InvalidOption });
    });
  }

  for (const concurrency of [0, 1.5, 20_000]) {
    it(`refuses concurrency ${concurrency} with ERR_INVALID_OPTION`, () => {
      assert.throws(() => plan({ concurrency }), { code: ErrorCode.InvalidOption });
    });
  }

  it("refuses a core route with ERR_OPTION_NOT_SUPPORTED", () => {
    const core = route("c", async () => {}, withSubject("x"), withFanOut());
    assert.throws(() => replayPlan(conn, core, { from: "all", producer }), {
      code: ErrorCode.OptionNotSupported,
    });
  });
});

describe("resetDurable's re-created config", () => {
  const base = {
    durable_name: "svc",
    name: "svc",
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: "2026-01-01T00:00:00Z",
    ack_wait: 5_000_000_000,
    description: "kept",
    metadata: { owner: "ops", "_nats.ver": "2.11.0" },
  } as unknown as ConsumerConfig;

  it("starts at the sequence and keeps every other field", () => {
    const c = restartConfig(base, 7, false);
    assert.equal(c.deliver_policy, DeliverPolicy.StartSequence);
    assert.equal(c.opt_start_seq, 7);
    assert.equal(c.opt_start_time, undefined);
    assert.equal(c.ack_wait, 5_000_000_000);
    assert.equal(c.description, "kept");
  });

  it("leaves the server's own metadata keys for the server to set", () => {
    assert.deepEqual(restartConfig(base, 1, false).metadata, { owner: "ops" });
  });

  it("refuses a misspelt option naming it, before anything is read", () => {
    assert.throws(
      () => plan({ concurrenc: 2 } as never),
      (err: { code?: string; message?: string }) =>
        err.code === ErrorCode.InvalidOption &&
        /replay has no option "concurrenc"/.test(err.message ?? ""),
    );
  });
});
