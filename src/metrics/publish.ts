import type { PublishEvent, PublishHook } from "../producer/types.js";
import type { MetricSet } from "./metric-set.js";

type Kind = PublishEvent["kind"];
const KINDS: readonly Kind[] = ["core", "jetstream", "request"];

interface KindChildren {
  readonly publishes: { inc(): void };
  readonly duplicates: { inc(): void };
  readonly failures: { inc(): void };
  readonly duration: { observe(seconds: number): void };
}

/**
 * The producer hook that counts every publish, JetStream publish and request into the set's
 * publish metrics, children resolved once per kind. Never throws.
 */
export function publishMetricsHook(set: MetricSet): PublishHook {
  // Every kind's counters exist from the start (at 0), so rate() and alerts see them.
  for (const kind of KINDS) {
    set.publishes.inc({ kind }, 0);
    set.publishDuplicates.inc({ kind }, 0);
    set.publishFailures.inc({ kind }, 0);
  }
  const byKind = new Map<Kind, KindChildren>(
    KINDS.map((kind) => [
      kind,
      {
        publishes: set.publishes.labels(kind),
        duplicates: set.publishDuplicates.labels(kind),
        failures: set.publishFailures.labels(kind),
        duration: set.publishDuration.labels(kind),
      },
    ]),
  );
  return (e) => {
    const c = byKind.get(e.kind);
    if (c === undefined) return;
    c.publishes.inc();
    if (e.error !== undefined) c.failures.inc();
    else if (e.duplicate === true) c.duplicates.inc();
    c.duration.observe(e.latencyMs / 1000);
  };
}
