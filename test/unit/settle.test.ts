import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  beforeRun,
  decideSettlement,
  FALLBACK_DELAY_MS,
  type Settlement,
  supportsTermReason,
  UNSETTLED_DELIVERY_ALLOWANCE,
} from "../../src/consumer/index.js";
import { silentLogger } from "../../src/logger/index.js";
import type { RouteOption } from "../../src/router/index.js";
import {
  ack,
  buildRouteSpec,
  custom,
  fixed,
  type JetStreamRouteSpec,
  reject,
  retry,
  route,
  withBackoff,
  withErrorPolicy,
  withMaxDeliver,
  withStream,
  withSubject,
} from "../../src/router/index.js";

const log = silentLogger();

function spec(...options: RouteOption[]): JetStreamRouteSpec {
  const s = buildRouteSpec(
    route(
      "r",
      async () => ack(),
      withStream("S"),
      withSubject("s.x"),
      withMaxDeliver(3),
      ...options,
    ),
  );
  assert.equal(s.kind, "jetstream");
  return s as JetStreamRouteSpec;
}

describe("settling a handler's result", () => {
  it("acks a plain value and an ack outcome", () => {
    assert.deepEqual(decideSettlement({ kind: "value", value: 1 }, 1, spec(), log), {
      kind: "ack",
    });
    assert.deepEqual(decideSettlement({ kind: "outcome", outcome: ack() }, 1, spec(), log), {
      kind: "ack",
    });
  });

  it("naks a retry with the backoff for the delivery count", () => {
    const s = spec(withBackoff(custom((n) => n * 100)));
    assert.deepEqual(decideSettlement({ kind: "outcome", outcome: retry() }, 2, s, log), {
      kind: "nak",
      delayMs: 200,
    });
  });

  it("prefers the retry's own delay over the backoff", () => {
    const s = spec(withBackoff(fixed("5s")));
    const outcome = retry({ delay: "250ms" });
    assert.deepEqual(decideSettlement({ kind: "outcome", outcome }, 1, s, log), {
      kind: "nak",
      delayMs: 250,
    });
  });

  it("dead-letters a retry on the final delivery", () => {
    const result = decideSettlement({ kind: "outcome", outcome: retry() }, 3, spec(), log);
    assert.equal(result.kind, "dead-letter");
  });

  it("never dead-letters a retry when maxDeliver is unlimited", () => {
    const s = spec(withMaxDeliver(-1), withBackoff(fixed("1s")));
    const result = decideSettlement({ kind: "outcome", outcome: retry() }, 1_000, s, log);
    assert.deepEqual(result, { kind: "nak", delayMs: 1000 });
  });

  it("dead-letters a reject on any delivery", () => {
    const result = decideSettlement({ kind: "outcome", outcome: reject("bad") }, 1, spec(), log);
    assert.deepEqual(result, { kind: "dead-letter", reason: "bad" });
  });

  it("retries a thrown error under the retry policy and dead-letters it under terminate", () => {
    const error = new Error("boom");
    assert.equal(decideSettlement({ kind: "error", error }, 1, spec(), log).kind, "nak");
    const strict = spec(withErrorPolicy("terminate"));
    assert.equal(decideSettlement({ kind: "error", error }, 1, strict, log).kind, "dead-letter");
  });

  it("releases a handler interrupted by shutdown, whatever the policy or delivery count", () => {
    const interrupted = { kind: "interrupted", reason: new Error("grace over") } as const;
    for (const s of [spec(), spec(withErrorPolicy("terminate"))]) {
      for (const deliveryCount of [1, 3, 9]) {
        assert.deepEqual(decideSettlement(interrupted, deliveryCount, s, log), { kind: "release" });
      }
    }
  });

  it("falls back to a one second delay when the backoff throws", () => {
    const s = spec(
      withBackoff(
        custom((n) => {
          if (n > 0) throw new Error("bug");
          return 1;
        }),
      ),
    );
    assert.deepEqual(decideSettlement({ kind: "outcome", outcome: retry() }, 1, s, log), {
      kind: "nak",
      delayMs: FALLBACK_DELAY_MS,
    });
  });
});

describe("the settlement table (maxDeliver 3, backoff 1s)", () => {
  const error = new Error("boom");
  const results = {
    value: { kind: "value", value: 1 },
    "ack()": { kind: "outcome", outcome: ack() },
    "retry()": { kind: "outcome", outcome: retry() },
    "reject()": { kind: "outcome", outcome: reject("bad") },
    thrown: { kind: "error", error },
    interrupted: { kind: "interrupted", reason: error },
  } as const;
  // result, error policy, delivery count -> settlement kind
  const table: [keyof typeof results, "retry" | "terminate", number, Settlement["kind"]][] = [
    ["value", "retry", 1, "ack"],
    ["value", "retry", 3, "ack"],
    ["ack()", "terminate", 3, "ack"],
    ["retry()", "retry", 1, "nak"],
    ["retry()", "retry", 2, "nak"],
    ["retry()", "retry", 3, "dead-letter"],
    ["retry()", "terminate", 1, "nak"],
    ["reject()", "retry", 1, "dead-letter"],
    ["thrown", "retry", 1, "nak"],
    ["thrown", "retry", 3, "dead-letter"],
    ["thrown", "terminate", 1, "dead-letter"],
    ["interrupted", "retry", 1, "release"],
    ["interrupted", "retry", 3, "release"],
    ["interrupted", "terminate", 1, "release"],
    ["interrupted", "terminate", 9, "release"],
  ];
  for (const [result, policy, deliveryCount, expected] of table) {
    it(`${result}, policy ${policy}, delivery ${deliveryCount} -> ${expected}`, () => {
      const s = spec(withErrorPolicy(policy), withBackoff(fixed("1s")));
      assert.equal(decideSettlement(results[result], deliveryCount, s, log).kind, expected);
    });
  }

  it("runs handlers of messages released up to the allowance past maxDeliver", () => {
    for (let n = 1; n <= 3 + UNSETTLED_DELIVERY_ALLOWANCE; n++) {
      assert.equal(beforeRun(spec(), n), undefined, `delivery ${n}`);
    }
  });

  it("dead-letters without running a message past maxDeliver + the allowance", () => {
    const s = beforeRun(spec(), 3 + UNSETTLED_DELIVERY_ALLOWANCE + 1);
    assert.equal(s?.kind, "dead-letter");
  });

  it("never dead-letters before running when maxDeliver is unlimited", () => {
    assert.equal(beforeRun(spec(withMaxDeliver(-1)), 1_000_000), undefined);
  });
});

describe("server gates", () => {
  it("sends a term reason only to servers from 2.10.4", () => {
    assert.equal(supportsTermReason([2, 9, 10]), false);
    assert.equal(supportsTermReason([2, 10, 3]), false);
    assert.equal(supportsTermReason([2, 10, 4]), true);
    assert.equal(supportsTermReason([2, 11, 0]), true);
    assert.equal(supportsTermReason([3, 0, 0]), true);
  });
});
