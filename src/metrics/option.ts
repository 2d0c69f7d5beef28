import { Registry } from "prom-client";
import type { BrokerOption } from "../broker/options.js";
import { describeValue, ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { requirePlace } from "../options/index.js";
import type { ProducerOption } from "../producer/options.js";
import { BrokerMetrics } from "./broker-metrics.js";
import { type MetricSet, metricSetFor } from "./metric-set.js";
import { publishMetricsHook } from "./publish.js";

/** Options of {@link withMetrics}. */
export interface MetricsOptions {
  /**
   * The prom-client registry to register jetroute's metrics in, so an application serves one
   * `/metrics`. Several brokers (and producers) may share one: their numbers add up.
   * @default a new Registry of the broker's own (`broker.metricsRegistry()`)
   */
  readonly registry?: Registry;
}

/** Options of {@link withPublishMetrics}. */
export interface PublishMetricsOptions {
  /** The prom-client registry to count publishes in (the one given to `withMetrics`, if any). */
  readonly registry: Registry;
}

/**
 * Prometheus metrics for the broker (prom-client): per route, messages received and settled
 * by outcome, handler durations by outcome, in-flight, held, the durable's lag and whether the
 * route runs; the connection's state and reconnects; the broker's default producer's
 * publishes. Counters the engine already keeps are read when the registry is scraped; per
 * message only the handler's duration is recorded. Serve them with `withHttpEndpoint`, or with
 * `await registry.metrics()` in your own server. A producer given with `withProducer` is
 * counted only if it was made with {@link withPublishMetrics}.
 * @throws ErrInvalidOption (at `new Broker`) for a bad option, a second `withMetrics`, or a
 *   registry that already holds a `jetroute_*` metric jetroute did not register
 * @example
 * const registry = new Registry(); // from prom-client, shared with the application's metrics
 * const broker = new Broker(withConnection(conn), withMetrics({ registry }), withHttpEndpoint({ port: 9464 }));
 * @default off
 */
export function withMetrics(options?: MetricsOptions): BrokerOption {
  return (d) => {
    requirePlace(d, "withMetrics", "broker");
    if (d.metricsRegistry !== undefined) {
      throw new ErrInvalidOption("withMetrics was given twice; give it once per broker");
    }
    const registry = checkRegistry("withMetrics", options, false) ?? new Registry();
    const set = metricSetFor(registry, "withMetrics");
    const metrics = new BrokerMetrics(set);
    d.metricsRegistry = registry;
    d.instruments.push(metrics);
    d.attachments.push(metrics);
    d.producerOptions.push(observePublishes(set));
  };
}

/**
 * Counts a producer's publishes, JetStream publishes and requests into `registry`:
 * `jetroute_publishes_total`, `jetroute_publish_duplicates_total`,
 * `jetroute_publish_failures_total` and `jetroute_publish_duration_seconds`, by `kind`
 * (`core`, `jetstream`, `request`). The broker's default producer is counted by `withMetrics`
 * already; use this for producers made with `createProducer`. Works beside `withOnPublish`.
 * @throws ErrInvalidOption (at `createProducer`) when `registry` is missing or not a Registry
 * @example
 * const producer = createProducer(conn, withPublishMetrics({ registry }));
 */
export function withPublishMetrics(options: PublishMetricsOptions): ProducerOption {
  return (d) => {
    requirePlace(d, "withPublishMetrics", "producer");
    const registry = checkRegistry("withPublishMetrics", options, true) as Registry;
    observePublishes(metricSetFor(registry, "withPublishMetrics"))(d);
  };
}

function observePublishes(set: MetricSet): ProducerOption {
  const hook = publishMetricsHook(set);
  return (d) => {
    d.observers = [...(d.observers ?? []), hook];
  };
}

const KEYS: ReadonlySet<string> = new Set(["registry"]);

/** The registry in `options`, checked; undefined when none was given (and none is required). */
function checkRegistry(option: string, options: unknown, required: boolean): Registry | undefined {
  if (options === undefined && !required) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ErrInvalidOption(
      invalidValueMessage(option, options, required ? "{ registry }" : "{ registry? } or nothing"),
    );
  }
  const unknown = Object.keys(options).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) {
    throw new ErrInvalidOption(
      `${option} has no option ${unknown.map((k) => describeValue(k)).join(", ")}; it takes { registry${required ? "" : "?"} }`,
    );
  }
  const registry = (options as { registry?: unknown }).registry;
  if (registry === undefined && !required) return undefined;
  if (!isRegistry(registry)) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        `${option} registry`,
        registry,
        'a prom-client Registry (import { Registry } from "prom-client"; new Registry())',
      ),
    );
  }
  return registry;
}

/** Duck-typed, so a Registry from another copy of prom-client is accepted too. */
function isRegistry(value: unknown): value is Registry {
  if (value instanceof Registry) return true;
  const r = value as Record<string, unknown> | null | undefined;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.registerMetric === "function" &&
    typeof r.getSingleMetric === "function" &&
    typeof r.metrics === "function"
  );
}
