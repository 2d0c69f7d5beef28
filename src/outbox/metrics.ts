import { Counter, Gauge, type Registry } from "prom-client";
import { ErrInvalidOption } from "../errors/index.js";
import type { OutboxLag } from "./types.js";

/** The outbox's metric names (Prometheus conventions, like `MetricName`): labels `table`, `stage`. */
export const OutboxMetricName = {
  pending: "jetroute_outbox_pending_rows",
  oldestPendingAge: "jetroute_outbox_oldest_pending_age_seconds",
  failing: "jetroute_outbox_failing_rows",
  published: "jetroute_outbox_published_total",
  failures: "jetroute_outbox_failures_total",
} as const;

/** Where a relay failure happened: a row's publish, or the database (the whole batch). */
export type OutboxFailureStage = "publish" | "database";

/** What one outbox records into its registry. */
export interface OutboxMetrics {
  published(rows: number): void;
  failed(stage: OutboxFailureStage, count: number): void;
}

type LagSource = { readonly table: string; lag(): Promise<OutboxLag> };

/** One set per registry, shared by every outbox on it (like the broker's MetricSet). */
class OutboxMetricSet {
  /** By table: two outboxes on one table report it once. */
  readonly sources = new Map<string, LagSource>();
  readonly published: Counter<"table">;
  readonly failures: Counter<"table" | "stage">;

  constructor(registry: Registry) {
    const registers = [registry];
    const sources = this.sources;
    // Lag is read from the table when scraped: one query per outbox, nothing per row.
    const lagGauge = (name: string, help: string, pick: (lag: OutboxLag) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["table"],
        registers,
        async collect() {
          this.reset();
          await Promise.all(
            [...sources.values()].map(async (s) => {
              try {
                this.set({ table: s.table }, pick(await s.lag()));
              } catch {
                // database unreachable: no sample this scrape rather than a failed scrape
              }
            }),
          );
        },
      });
    lagGauge(OutboxMetricName.pending, "Outbox rows not yet published.", (l) => l.pending);
    lagGauge(
      OutboxMetricName.oldestPendingAge,
      "Age of the oldest unpublished outbox row, seconds (relay lag).",
      (l) => l.oldestPendingMs / 1000,
    );
    lagGauge(
      OutboxMetricName.failing,
      "Unpublished outbox rows whose last publish failed.",
      (l) => l.failing,
    );
    this.published = new Counter({
      name: OutboxMetricName.published,
      help: "Outbox rows published to JetStream and marked sent.",
      labelNames: ["table"],
      registers,
    });
    this.failures = new Counter({
      name: OutboxMetricName.failures,
      help: "Relay failures: rows whose publish failed (stage=publish), batches the database failed (stage=database).",
      labelNames: ["table", "stage"],
      registers,
    });
  }
}

const sets = new WeakMap<Registry, OutboxMetricSet>();

/**
 * Registers (once per registry) and returns the recorder for one outbox table; `source` is read
 * at every scrape.
 * @throws ErrInvalidOption when the registry already has a `jetroute_outbox_*` metric from elsewhere
 */
export function outboxMetrics(registry: Registry, source: LagSource): OutboxMetrics {
  let set = sets.get(registry);
  if (set === undefined) {
    const taken = Object.values(OutboxMetricName).filter(
      (n) => registry.getSingleMetric(n) !== undefined,
    );
    if (taken.length > 0) {
      throw new ErrInvalidOption(
        `withOutboxMetrics: the registry already holds ${taken.join(", ")}, registered by something other than this jetroute; pass a registry without them`,
      );
    }
    set = new OutboxMetricSet(registry);
    sets.set(registry, set);
  }
  const s = set;
  const table = source.table;
  s.sources.set(table, source);
  s.published.inc({ table }, 0);
  s.failures.inc({ table, stage: "publish" }, 0);
  s.failures.inc({ table, stage: "database" }, 0);
  const published = s.published.labels(table);
  const failures = {
    publish: s.failures.labels(table, "publish"),
    database: s.failures.labels(table, "database"),
  };
  return {
    published: (rows) => published.inc(rows),
    failed: (stage, count) => failures[stage].inc(count),
  };
}

/** Records nothing: an outbox without `withOutboxMetrics`. */
export const NO_METRICS: OutboxMetrics = { published() {}, failed() {} };
