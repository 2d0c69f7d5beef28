import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  ReplayPolicy,
  RetentionPolicy,
} from "@nats-io/jetstream";
import { versionAtLeast } from "../../src/conn/index.js";
import {
  ConsumerMetadata,
  checkConsumer,
  desiredConsumerConfig,
  type StreamFacts,
} from "../../src/consumer/index.js";
import {
  ErrDLQLoop,
  ErrInvalidOption,
  ErrInvalidSubject,
  ErrOptionNotSupported,
} from "../../src/errors/index.js";
import {
  ack,
  buildRouteSpec,
  type JetStreamRouteSpec,
  route,
  withDLQ,
  withFanOut,
  withMaxAckPending,
  withOnConsumerConflict,
  withStartAt,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { JETROUTE_VERSION } from "../../src/version.js";

function stream(subjects: string[], maxAckPendingLimit = 0): StreamFacts {
  return {
    subjects,
    subjectsComplete: true,
    retention: RetentionPolicy.Limits,
    maxAckPendingLimit,
    inactiveThresholdLimit: 0,
  };
}

const V2_9: readonly [number, number, number] = [2, 9, 10];
const V2_15: readonly [number, number, number] = [2, 15, 1];

function spec(...subjects: [string, ...string[]]): JetStreamRouteSpec {
  return buildRouteSpec(
    route("svc", async () => ack(), withStream("S"), withSubject(...subjects)),
  ) as JetStreamRouteSpec;
}

/** A durable as the server reports one that matches route "svc" on `a.x` (2.15). */
function matching(): Partial<ConsumerConfig> {
  return {
    ...desiredConsumerConfig(spec("a.x"), V2_15),
    replay_policy: ReplayPolicy.Instant,
  };
}

/** `matching()` without its filter. */
function unfiltered(): Partial<ConsumerConfig> {
  const { filter_subject: _filter, ...rest } = matching();
  return rest;
}

describe("consumer contract", () => {
  it("finds nothing to change on a durable that matches the route", () => {
    const check = checkConsumer(matching(), spec("a.x"), V2_15, stream(["a.>"]));
    assert.deepEqual([check.conflicts, check.changes, check.warnings], [[], [], []]);
  });

  it("lists every conflicting field, first the one named by the error", () => {
    const check = checkConsumer(
      { ...matching(), ack_policy: AckPolicy.All, replay_policy: ReplayPolicy.Original },
      spec("a.x"),
      V2_15,
      stream(["a.>"]),
    );
    assert.deepEqual(
      check.conflicts.map((c) => c.field),
      ["ack_policy", "replay_policy"],
    );
  });

  it("treats filter_subjects as a set, and no filter as the stream's own subjects", () => {
    const two = spec("a.x", "a.y");
    const reordered = { ...unfiltered(), filter_subjects: ["a.y", "a.x"] };
    assert.deepEqual(checkConsumer(reordered, two, V2_15, stream([])).conflicts, []);
    assert.deepEqual(
      checkConsumer(unfiltered(), spec("a.x"), V2_15, stream(["a.x"])).conflicts,
      [],
    );
    assert.equal(
      checkConsumer(unfiltered(), spec("a.x"), V2_15, stream(["a.>"])).conflicts[0]?.field,
      "filter_subject",
    );
  });

  it("takes a durable without a filter for a route whose subjects cover every subject of the stream", () => {
    assert.deepEqual(
      checkConsumer(unfiltered(), spec("a.*"), V2_15, stream(["a.x", "a.y"])).conflicts,
      [],
    );
    const partial = checkConsumer(unfiltered(), spec("a.x"), V2_15, stream(["a.x", "a.y"]));
    assert.deepEqual(partial.conflicts[0]?.current, "none (every subject of the stream)");
  });

  it("owns inactive_threshold: cleared, or the stream's consumer limit with a warning", () => {
    const check = checkConsumer(
      { ...matching(), inactive_threshold: 2_000_000_000 },
      spec("a.x"),
      V2_15,
      stream([]),
    );
    assert.equal(check.update.inactive_threshold, 0);
    const limited: StreamFacts = { ...stream([]), inactiveThresholdLimit: 5_000_000_000 };
    const underLimit = checkConsumer(
      { ...matching(), inactive_threshold: 5_000_000_000 },
      spec("a.x"),
      V2_15,
      limited,
    );
    assert.deepEqual(underLimit.changes, []);
    assert.match(underLimit.warnings[0] ?? "", /inactive_threshold \(5000 ms\)/);
  });

  it("refuses an ephemeral consumer in place of the route's durable", () => {
    const { durable_name: _d, ...ephemeral } = matching();
    const check = checkConsumer({ ...ephemeral, name: "svc" }, spec("a.x"), V2_15, stream([]));
    assert.equal(check.conflicts[0]?.field, "durable_name");
  });

  it("explains a filter change by what the server would do on each side of 2.10", () => {
    const moved = spec("a.y");
    const old = checkConsumer(matching(), moved, V2_9, stream([])).conflicts[0];
    const current = checkConsumer(matching(), moved, V2_15, stream([])).conflicts[0];
    assert.match(old?.why ?? "", /delivers nothing of the new subject/);
    assert.match(current?.why ?? "", /never be delivered/);
  });

  it("clears backoff and headers_only explicitly, since an update merges onto the durable", () => {
    const check = checkConsumer(
      { ...matching(), backoff: [1_000_000_000], headers_only: true },
      spec("a.x"),
      V2_15,
      stream([]),
    );
    assert.deepEqual(check.update.backoff, []);
    assert.equal(check.update.headers_only, false);
    assert.deepEqual(
      check.changes.map((c) => c.field),
      ["backoff", "headers_only"],
    );
  });

  it("stamps metadata from 2.10 only, keeping the durable's own keys", () => {
    assert.equal(desiredConsumerConfig(spec("a.x"), V2_9).metadata, undefined);
    const check = checkConsumer(
      { ...matching(), metadata: { team: "billing" } },
      spec("a.x"),
      V2_15,
      stream([]),
    );
    assert.deepEqual(check.update.metadata, {
      team: "billing",
      [ConsumerMetadata.Route]: "svc",
      [ConsumerMetadata.Version]: JETROUTE_VERSION,
    });
  });

  it("warns about a durable paused into the future", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const paused = { ...matching(), pause_until: "2026-01-01T01:00:00Z" };
    assert.equal(checkConsumer(paused, spec("a.x"), V2_15, stream([]), now).warnings.length, 1);
    const past = { ...matching(), pause_until: "2025-12-31T00:00:00Z" };
    assert.equal(checkConsumer(past, spec("a.x"), V2_15, stream([]), now).warnings.length, 0);
  });

  it("lowers the default max_ack_pending to the stream's consumer limit, but not a value the user set", () => {
    assert.equal(desiredConsumerConfig(spec("a.x"), V2_15, stream([], 100)).max_ack_pending, 100);
    const set = buildRouteSpec(
      route("svc", async () => ack(), withStream("S"), withSubject("a.x"), withMaxAckPending(500)),
    ) as JetStreamRouteSpec;
    assert.equal(desiredConsumerConfig(set, V2_15, stream([], 100)).max_ack_pending, 500);
  });

  it("puts one subject in filter_subject and several in filter_subjects", () => {
    assert.equal(desiredConsumerConfig(spec("a.x"), V2_15).filter_subject, "a.x");
    assert.deepEqual(desiredConsumerConfig(spec("a.x", "a.y"), V2_15).filter_subjects, [
      "a.x",
      "a.y",
    ]);
  });
});

describe("route subjects", () => {
  it("refuses subjects of one route that overlap", () => {
    assert.throws(() => spec("a.*", "a.x"), ErrInvalidSubject);
    assert.throws(() => spec("a.x", "a.x"), ErrInvalidSubject);
  });

  it("takes one subject on a core route", () => {
    assert.throws(
      () => buildRouteSpec(route("fan", async () => {}, withFanOut(), withSubject("a", "b"))),
      ErrOptionNotSupported,
    );
  });

  it("refuses a DLQ that any of the route's subjects matches", () => {
    assert.throws(
      () =>
        buildRouteSpec(
          route(
            "svc",
            async () => ack(),
            withStream("S"),
            withSubject("a.x", "dlq.>"),
            withDLQ("dlq.svc"),
          ),
        ),
      ErrDLQLoop,
    );
  });

  it("accepts only fail or recreate for withOnConsumerConflict", () => {
    assert.equal(spec("a.x").onConsumerConflict, "fail");
    assert.throws(
      () =>
        buildRouteSpec(
          route(
            "svc",
            async () => ack(),
            withStream("S"),
            withSubject("a"),
            withOnConsumerConflict("update" as "fail"),
          ),
        ),
      ErrInvalidOption,
    );
  });
});

describe("versions", () => {
  it("compares server versions part by part", () => {
    assert.equal(versionAtLeast([2, 10, 27], [2, 10, 0]), true);
    assert.equal(versionAtLeast([2, 9, 10], [2, 10, 0]), false);
    assert.equal(versionAtLeast([3, 0, 0], [2, 11, 0]), true);
  });

  it("stamps the version package.json declares", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    assert.equal(JETROUTE_VERSION, pkg.version);
  });
});

describe("withStartAt on an existing durable", () => {
  const started = (start: Parameters<typeof withStartAt>[0]) =>
    buildRouteSpec(
      route("svc", async () => ack(), withStream("S"), withSubject("a.x"), withStartAt(start)),
    ) as JetStreamRouteSpec;
  const warningsFor = (current: Partial<ConsumerConfig>, s: JetStreamRouteSpec) =>
    checkConsumer({ ...matching(), ...current }, s, V2_15, stream(["a.>"])).warnings;

  it("a duration back matches a durable made by start time on an earlier run", () => {
    const current = {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: "2026-01-01T00:00:00Z",
    };
    assert.deepEqual(warningsFor(current, started("2h")), []);
  });

  it("the same time written differently matches", () => {
    const current = {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: "2026-11-20T08:00:00.000000000Z",
    };
    assert.deepEqual(warningsFor(current, started("2026-11-20T09:00:00+01:00")), []);
  });

  it("another sequence is reported with the way to move the durable", () => {
    const current = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 5 };
    const [warning] = warningsFor(current, started(9));
    assert.match(warning ?? "", /by_start_sequence 5, not at withStartAt\(seq 9\)/);
    assert.match(warning ?? "", /jetroute durable reset S svc/);
  });

  it("a durable with a conflict gets no start warning (it is re-created at the route's start, or the route fails)", () => {
    const current = { ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All };
    assert.deepEqual(warningsFor(current, started(5)), []);
  });

  it("a new durable starts where the route says", () => {
    assert.equal(desiredConsumerConfig(started("new"), V2_15).deliver_policy, DeliverPolicy.New);
  });
});
