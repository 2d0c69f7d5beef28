import { Counter, Gauge, Histogram, type Metric, type Registry } from "prom-client";
import type { Connection } from "../conn/types.js";
import { ErrInvalidOption } from "../errors/index.js";
import type { BrokerHealth } from "../health/index.js";
import { FastHistogram } from "./histogram.js";
import { HANDLER_BUCKETS, MetricName, PUBLISH_BUCKETS } from "./names.js";
import { type Labels, Series } from "./series.js";

/** One route's cumulative counts, as a broker reports them at a scrape. */
export interface RouteCounts {
  readonly route: string;
  readonly stream: string;
  readonly received: number;
  /** Settled messages by outcome (`acked`, `retried`, ... or `ok`, `error`). */
  readonly settled: Readonly<Record<string, number>>;
}

/** What a running broker shows the metric set: read at scrape time, never per message. */
export interface MetricsSource {
  readonly conn: Connection;
  /** `broker.health()`: states, in-flight, held, lag, the connection (one PING). */
  health(): Promise<BrokerHealth>;
  /** The stream of each route by name ("" for core routes). */
  streamOf(route: string): string;
  /** Cumulative counts, read synchronously. */
  counts(): readonly RouteCounts[];
}

/** What one scrape computed, by metric name. */
type Scrape = ReadonlyMap<string, Series>;

type RouteLabel = "route" | "stream";

/**
 * jetroute's metrics in one registry, shared by every broker and producer that uses the
 * registry (one set per registry, so a second broker adds its numbers instead of registering
 * the names again). Per-message data (handler durations) goes straight into the histogram;
 * everything the engine already counts is read from the running brokers when the registry is
 * scraped, and a broker that stops folds its final counts in, so counters never go down.
 */
export class MetricSet {
  /** Labels route, stream, outcome; children resolved once per route run. */
  readonly handlerDuration: FastHistogram;
  readonly publishes: Counter<"kind">;
  readonly publishDuplicates: Counter<"kind">;
  readonly publishFailures: Counter<"kind">;
  readonly publishDuration: Histogram<"kind">;
  /** By the name registered (an OpenMetrics registry renames counters in place when scraped). */
  readonly #all: ReadonlyMap<string, Metric>;
  readonly #live = new Set<MetricsSource>();
  /** Counters of brokers that stopped, by metric name. */
  readonly #retired = new Map<string, Series>([
    [MetricName.received, new Series()],
    [MetricName.settled, new Series()],
  ]);
  /** Each connection's reconnects as last read; closed ones are folded into `#oldReconnects`. */
  readonly #reconnects = new Map<Connection, number>();
  #oldReconnects = 0;
  #scrape: Promise<Scrape> | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    const routeLabels: RouteLabel[] = ["route", "stream"];
    // Every scrape-time metric reads the same scrape: one health() per broker per scrape.
    const set = this;
    const fill = (name: string, kind: "counter" | "gauge") =>
      async function (this: Counter<string> | Gauge<string>) {
        const scrape = await set.#scrapeOnce();
        this.reset();
        for (const { labels, value } of scrape.get(name)?.values() ?? []) {
          if (kind === "counter") (this as Counter<string>).inc(labels, value);
          else (this as Gauge<string>).set(labels, value);
        }
      };
    const counter = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name, help, labelNames, registers, collect: fill(name, "counter") });
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new Gauge({ name, help, labelNames, registers, collect: fill(name, "gauge") });
    this.handlerDuration = new FastHistogram(
      MetricName.handlerDuration,
      "Handler run time (middleware included) by the outcome applied to the message, seconds.",
      HANDLER_BUCKETS,
    );
    registry.registerMetric(this.handlerDuration.asMetric());
    this.publishes = new Counter({
      name: MetricName.publishes,
      help: "Publishes, JetStream publishes and requests made by jetroute producers (failed ones too).",
      labelNames: ["kind"],
      registers,
    });
    this.publishDuplicates = new Counter({
      name: MetricName.publishDuplicates,
      help: "JetStream publishes the stream de-duplicated (its msgId was already stored).",
      labelNames: ["kind"],
      registers,
    });
    this.publishFailures = new Counter({
      name: MetricName.publishFailures,
      help: "Publishes, JetStream publishes and requests that failed (after their retries).",
      labelNames: ["kind"],
      registers,
    });
    this.publishDuration = new Histogram({
      name: MetricName.publishDuration,
      help: "From the call to the PubAck, the reply or the hand-off to the connection (retries included), seconds.",
      labelNames: ["kind"],
      buckets: [...PUBLISH_BUCKETS],
      registers,
    });
    const all: Metric[] = [
      this.handlerDuration.asMetric(),
      this.publishes,
      this.publishDuplicates,
      this.publishFailures,
      this.publishDuration,
      counter(
        MetricName.received,
        "Messages a route received (every delivery, redeliveries included).",
        routeLabels,
      ),
      counter(
        MetricName.settled,
        "Messages settled, by outcome: acked, retried (nak with a delay), dead_lettered, released (bare nak) on JetStream routes; ok or error on core routes.",
        [...routeLabels, "outcome"],
      ),
      gauge(MetricName.inFlight, "Handlers running now.", routeLabels),
      gauge(
        MetricName.held,
        "JetStream: messages received and not settled yet (running + waiting for a worker).",
        routeLabels,
      ),
      gauge(
        MetricName.pending,
        "JetStream: the durable's num_pending (stream messages not delivered yet), as last read.",
        routeLabels,
      ),
      gauge(
        MetricName.ackPending,
        "JetStream: the durable's num_ack_pending (delivered, not acknowledged), as last read.",
        routeLabels,
      ),
      gauge(
        MetricName.redelivered,
        "JetStream: the durable's num_redelivered, as last read.",
        routeLabels,
      ),
      gauge(
        MetricName.waiting,
        "JetStream: the durable's num_waiting (pull requests waiting at the server), as last read.",
        routeLabels,
      ),
      gauge(MetricName.routeRunning, "1 while the route is running, else 0.", ["route"]),
      gauge(
        MetricName.connected,
        "1 while every running broker's NATS connection answers, else 0.",
        [],
      ),
      counter(MetricName.reconnects, "Times the NATS connection was re-established.", []),
    ];
    // Names read now, before any scrape of an OpenMetrics registry renamed a counter.
    this.#all = new Map(all.map((m) => [(m as unknown as { name: string }).name, m]));
  }

  /** Every metric of the set, to check the registry still holds them. */
  metrics(): ReadonlyMap<string, Metric> {
    return this.#all;
  }

  /** A broker started: its numbers count from now on. */
  attach(source: MetricsSource): void {
    this.#live.add(source);
  }

  /** A broker stopped: its final counts stay in the counters; its gauges go. */
  detach(source: MetricsSource): void {
    if (!this.#live.delete(source)) return;
    addCounts(this.#retired, source.counts());
  }

  /** One computation per scrape, shared by every metric's collect. */
  #scrapeOnce(): Promise<Scrape> {
    if (this.#scrape === undefined) {
      this.#scrape = this.#compute().finally(() => {
        this.#scrape = undefined;
      });
    }
    return this.#scrape;
  }

  async #compute(): Promise<Scrape> {
    const sources = [...this.#live];
    const healths = await Promise.all(sources.map((s) => s.health()));
    // From here on synchronous, so a broker detaching during the await is counted once.
    const out = new Map<string, Series>(
      Object.values(MetricName).map((name) => [name, new Series()]),
    );
    const get = (name: string) => out.get(name) as Series;
    for (const [name, series] of this.#retired) get(name).addAll(series);
    addCounts(
      out,
      [...this.#live].flatMap((s) => s.counts()),
    );
    let connected: number | undefined;
    sources.forEach((source, i) => {
      const h = healths[i] as BrokerHealth;
      if (!this.#live.has(source)) return;
      const up = h.connection.connected ? 1 : 0;
      connected = connected === undefined ? up : Math.min(connected, up);
      this.#reconnects.set(source.conn, h.connection.reconnects);
      for (const [route, r] of Object.entries(h.routes)) {
        const labels: Labels = { route, stream: source.streamOf(route) };
        get(MetricName.inFlight).add(labels, r.inFlight);
        if (r.held !== undefined) get(MetricName.held).add(labels, r.held);
        if (r.consumer !== undefined) {
          get(MetricName.pending).max(labels, r.consumer.pending);
          get(MetricName.ackPending).max(labels, r.consumer.ackPending);
          get(MetricName.redelivered).max(labels, r.consumer.redelivered);
          get(MetricName.waiting).max(labels, r.consumer.waiting);
        }
        get(MetricName.routeRunning).min({ route }, r.state === "running" ? 1 : 0);
      }
    });
    get(MetricName.connected).add({}, connected ?? 0);
    for (const [conn, n] of this.#reconnects) {
      if (!conn.nats.isClosed()) continue;
      this.#oldReconnects += n;
      this.#reconnects.delete(conn);
    }
    let reconnects = this.#oldReconnects;
    for (const n of this.#reconnects.values()) reconnects += n;
    get(MetricName.reconnects).add({}, reconnects);
    return out;
  }
}

function addCounts(into: ReadonlyMap<string, Series>, counts: readonly RouteCounts[]): void {
  const received = into.get(MetricName.received) as Series;
  const settled = into.get(MetricName.settled) as Series;
  for (const c of counts) {
    received.add({ route: c.route, stream: c.stream }, c.received);
    for (const [outcome, n] of Object.entries(c.settled)) {
      settled.add({ route: c.route, stream: c.stream, outcome }, n);
    }
  }
}

const sets = new WeakMap<Registry, MetricSet>();

/**
 * The registry's metric set, made on first use. Throws ErrInvalidOption when the registry holds
 * a metric of the same name that jetroute did not register (an application metric, or another
 * copy of jetroute); re-registers the set's own metrics after a `registry.clear()`.
 */
export function metricSetFor(registry: Registry, option: string): MetricSet {
  const names = Object.values(MetricName);
  let set = sets.get(registry);
  if (set === undefined) {
    const taken = names.filter((n) => registry.getSingleMetric(n) !== undefined);
    if (taken.length > 0) throw nameTaken(option, taken);
    set = new MetricSet(registry);
    sets.set(registry, set);
    return set;
  }
  const mine = [...set.metrics()];
  const foreign = mine.filter(([name, m]) => {
    const held = registry.getSingleMetric(name);
    return held !== undefined && held !== m;
  });
  if (foreign.length > 0)
    throw nameTaken(
      option,
      foreign.map(([name]) => name),
    );
  for (const [name, m] of mine) {
    if (registry.getSingleMetric(name) === undefined) registry.registerMetric(m);
  }
  return set;
}

function nameTaken(option: string, names: readonly string[]): Error {
  return new ErrInvalidOption(
    `${option}: the registry already holds ${names.join(", ")}, registered by something other than this jetroute; pass a registry without them (or remove them with registry.removeSingleMetric)`,
  );
}
