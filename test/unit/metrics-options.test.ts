// withMetrics, withPublishMetrics and withHttpEndpoint: bad values are refused once, at the
// constructor, with ErrInvalidOption naming the option and the fix.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter, Registry } from "prom-client";
import type { Connection } from "../../src/conn/types.js";
import {
  Broker,
  type BrokerOption,
  createProducer,
  ErrInvalidOption,
  ErrorCode,
  silentLogger,
  withConnection,
  withHttpEndpoint,
  withMetrics,
  withPublishMetrics,
} from "../../src/index.js";

// Nothing here talks to a server: the constructors only check the connection's shape.
const conn = {
  nats: {},
  jetstream: {},
  jetstreamManager: async () => ({}),
  serverVersion: () => [2, 15, 1],
  logger: silentLogger(),
} as unknown as Connection;

const broker = (...options: BrokerOption[]) => new Broker(withConnection(conn), ...options);

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ErrInvalidOption, String(err));
    assert.equal(err.code, ErrorCode.InvalidOption);
    assert.match(err.message, message);
    return true;
  });
}

describe("withMetrics options", () => {
  it("gives the broker a registry of its own when none is passed", () => {
    const a = broker(withMetrics()).metricsRegistry();
    const b = broker(withMetrics()).metricsRegistry();
    assert.ok(a instanceof Registry);
    assert.notEqual(a, b);
    assert.equal(broker().metricsRegistry(), undefined);
  });

  it("uses the registry passed in", () => {
    const registry = new Registry();
    assert.equal(broker(withMetrics({ registry })).metricsRegistry(), registry);
    assert.ok(registry.getSingleMetric("jetroute_messages_settled_total") !== undefined);
  });

  it("lets any number of brokers and producers share one registry", () => {
    const registry = new Registry();
    assert.doesNotThrow(() => {
      broker(withMetrics({ registry }));
      broker(withMetrics({ registry }));
      createProducer(conn, withPublishMetrics({ registry }));
    });
  });

  it("registers its metrics again after registry.clear()", () => {
    const registry = new Registry();
    broker(withMetrics({ registry }));
    registry.clear();
    broker(withMetrics({ registry }));
    assert.ok(registry.getSingleMetric("jetroute_handler_duration_seconds") !== undefined);
  });

  it("refuses a registry holding a jetroute metric it did not register, naming it", () => {
    const registry = new Registry();
    new Counter({ name: "jetroute_publishes_total", help: "mine", registers: [registry] });
    refused(() => broker(withMetrics({ registry })), /withMetrics: .*jetroute_publishes_total/);
  });

  for (const [what, options, message] of [
    [
      "a registry that is not one",
      { registry: {} },
      /withMetrics registry must be a prom-client Registry/,
    ],
    ["an unknown option", { registy: new Registry() }, /withMetrics has no option "registy"/],
    ["a non-object", 9464, /withMetrics must be \{ registry\? \}/],
  ] as const) {
    it(`refuses ${what} with ErrInvalidOption`, () => {
      refused(() => broker(withMetrics(options as never)), message);
    });
  }

  it("refuses withMetrics given twice", () => {
    refused(() => broker(withMetrics(), withMetrics()), /withMetrics was given twice/);
  });

  it("withPublishMetrics requires a registry", () => {
    refused(
      () => createProducer(conn, withPublishMetrics(undefined as never)),
      /withPublishMetrics must be \{ registry \}/,
    );
    refused(
      () => createProducer(conn, withPublishMetrics({} as never)),
      /withPublishMetrics registry must be a prom-client Registry/,
    );
  });
});

describe("withHttpEndpoint options", () => {
  it("takes port 0 and a host", () => {
    assert.doesNotThrow(() => broker(withHttpEndpoint({ port: 0, host: "127.0.0.1" })));
    assert.doesNotThrow(() => broker(withHttpEndpoint({ port: 65535 })));
  });

  for (const port of [-1, 65536, 1.5, "9464", Number.NaN, undefined]) {
    it(`refuses port ${String(port)} with ErrInvalidOption naming the range`, () => {
      refused(
        () => broker(withHttpEndpoint({ port } as never)),
        /withHttpEndpoint port must be an integer from 0 to 65535/,
      );
    });
  }

  for (const host of ["", " 127.0.0.1", 127]) {
    it(`refuses host ${JSON.stringify(host)}`, () => {
      refused(
        () => broker(withHttpEndpoint({ port: 0, host } as never)),
        /withHttpEndpoint host must be an address or host name/,
      );
    });
  }

  it("refuses no options, unknown ones, and a second withHttpEndpoint", () => {
    refused(
      () => broker(withHttpEndpoint(undefined as never)),
      /withHttpEndpoint must be \{ port, host\? \}/,
    );
    refused(
      () => broker(withHttpEndpoint({ port: 0, path: "/x" } as never)),
      /withHttpEndpoint has no option "path"/,
    );
    refused(
      () => broker(withHttpEndpoint({ port: 0 }), withHttpEndpoint({ port: 1 })),
      /withHttpEndpoint was given twice/,
    );
  });
});

describe("withMetrics on an OpenMetrics registry", () => {
  it("shares the registry after a scrape renamed its counters", async () => {
    const registry = new Registry();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    broker(withMetrics({ registry }));
    const text = await registry.metrics();
    assert.match(text, /# TYPE jetroute_publishes counter/);
    assert.doesNotThrow(() => broker(withMetrics({ registry })));
    const again = await registry.metrics();
    assert.equal(again.match(/# TYPE jetroute_publishes counter/g)?.length, 1, "registered once");
    assert.match(again, /jetroute_publishes_total\{kind="core"\} 0/);
  });
});
