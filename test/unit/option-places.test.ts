// Options given to the wrong constructor, or twice, fail with a message saying where they go.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { Broker } from "../../src/broker/index.js";
import { ErrorCode, isJetrouteError } from "../../src/errors/index.js";
import { withHttpEndpoint } from "../../src/http/index.js";
import { withMetrics, withPublishMetrics } from "../../src/metrics/index.js";
import { buildRouteSpec, route, withSubject } from "../../src/router/index.js";
import { withService } from "../../src/service/index.js";
import { withTracing } from "../../src/tracing/index.js";

/** The ErrInvalidOption message `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isJetrouteError(err, ErrorCode.InvalidOption), String(err));
    return err.message;
  }
  assert.fail("accepted");
}

const service = () => withService({ name: "prices", version: "1.0.0" });
// What createProducer(conn, ...) hands its options.
const producerDraft = () => ({ place: "producer" });

describe("options in the wrong place", () => {
  it("refuses a Broker option given to a route, naming new Broker(...)", () => {
    for (const [name, option] of [
      ["withService", service()],
      ["withMetrics", withMetrics()],
      ["withHttpEndpoint", withHttpEndpoint({ port: 0 })],
      ["withTracing", withTracing(false)],
    ] as const) {
      const message = refusal(() =>
        buildRouteSpec(route("r", async () => undefined, withSubject("a"), option as never)),
      );
      assert.match(message, new RegExp(`${name} is an option of new Broker\\(\\.\\.\\.\\)`));
    }
  });

  it("refuses a Broker-only option given to a producer", () => {
    for (const option of [service(), withMetrics(), withHttpEndpoint({ port: 0 })]) {
      assert.match(
        refusal(() => (option as (d: unknown) => void)(producerDraft())),
        /is an option of new Broker\(\.\.\.\); pass it there/,
      );
    }
  });

  it("refuses withPublishMetrics given to a Broker, naming createProducer", () => {
    const option = withPublishMetrics({ registry: new Registry() });
    assert.match(
      refusal(() => new Broker(option as never)),
      /withPublishMetrics is an option of createProducer\(conn, \.\.\.\)/,
    );
  });
});

describe("options given twice", () => {
  it("refuses withService twice: a broker is one service instance", () => {
    assert.match(
      refusal(() => new Broker(service(), service())),
      /withService was given twice/,
    );
  });

  it("refuses withTracing twice, and withTracing(undefined)", () => {
    assert.match(
      refusal(() => new Broker(withTracing(false), withTracing(true))),
      /withTracing was given twice/,
    );
    assert.match(
      refusal(() => new Broker(withTracing(undefined as never))),
      /withTracing.*true, false or \{ tracerProvider\?, propagator\? \}/,
    );
  });
});
