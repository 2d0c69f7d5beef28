import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrInvalidOption, ErrOptionNotSupported } from "../../src/errors/index.js";
import {
  deliverConfig,
  describePosition,
  parseStartAt,
  resolveTime,
} from "../../src/position/index.js";
import {
  ack,
  buildRouteSpec,
  type JetStreamRouteSpec,
  route,
  withRequestReply,
  withStartAt,
  withStream,
  withSubject,
} from "../../src/router/index.js";

const NOW = new Date("2026-11-30T12:00:00.000Z");

describe("parseStartAt: the positions people write", () => {
  const valid: [unknown, string][] = [
    ["all", "all"],
    ["new", "new"],
    ["last-per-subject", "last-per-subject"],
    [42, "seq 42"],
    ["42", "seq 42"],
    [new Date("2026-11-30T08:00:00Z"), "2026-11-30T08:00:00.000Z"],
    ["2026-11-30T08:00:00Z", "2026-11-30T08:00:00.000Z"],
    ["2026-11-30T09:00:00+01:00", "2026-11-30T08:00:00.000Z"],
    ["2h", "2h ago"],
    ["90s", "90s ago"],
    ["7d", "7d ago"],
    ["250ms", "250ms ago"],
  ];
  for (const [input, shown] of valid) {
    it(`reads ${JSON.stringify(input)} as ${shown}`, () => {
      assert.equal(describePosition(parseStartAt(input, "withStartAt", undefined, NOW)), shown);
    });
  }

  const invalid: unknown[] = [
    0,
    -1,
    1.5,
    Number.NaN,
    "",
    "yesterday",
    "2h30m",
    "-2h",
    "2026-13-45",
    new Date("nope"),
    "2027-01-01T00:00:00Z",
    null,
    {},
  ];
  for (const input of invalid) {
    it(`refuses ${String(input instanceof Date ? "an invalid Date" : JSON.stringify(input))} with ErrInvalidOption naming the option`, () => {
      assert.throws(
        () => parseStartAt(input, "withStartAt", "svc", NOW),
        (err: unknown) =>
          err instanceof ErrInvalidOption && /withStartAt on route "svc"/.test(err.message),
      );
    });
  }
});

describe("deliverConfig: the consumer fields of a position", () => {
  it("a duration back is resolved when the consumer is made", () => {
    const position = parseStartAt("2h", "withStartAt");
    assert.deepEqual(deliverConfig(position, NOW), {
      deliver_policy: "by_start_time",
      opt_start_time: "2026-11-30T10:00:00.000Z",
    });
    assert.equal(resolveTime(position, NOW)?.toISOString(), "2026-11-30T10:00:00.000Z");
  });

  it("a sequence is by_start_sequence", () => {
    assert.deepEqual(deliverConfig({ kind: "seq", seq: 7 }), {
      deliver_policy: "by_start_sequence",
      opt_start_seq: 7,
    });
  });
});

describe("withStartAt on a route", () => {
  it("is validated at register", () => {
    assert.throws(
      () =>
        buildRouteSpec(
          route("svc", async () => ack(), withStream("S"), withSubject("a"), withStartAt("soon")),
        ),
      ErrInvalidOption,
    );
  });

  it("defaults to the whole stream, not reported on existing durables", () => {
    const spec = buildRouteSpec(
      route("svc", async () => ack(), withStream("S"), withSubject("a")),
    ) as JetStreamRouteSpec;
    assert.deepEqual(spec.startAt, { kind: "all" });
    assert.equal(spec.startAtSet, false);
  });

  it("is refused on a core route with ErrOptionNotSupported", () => {
    assert.throws(
      () =>
        buildRouteSpec(
          route("svc", async () => ack(), withSubject("a"), withRequestReply(), withStartAt("new")),
        ),
      ErrOptionNotSupported,
    );
  });
});
