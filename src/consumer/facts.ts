import { type ConsumerConfig, RetentionPolicy } from "@nats-io/jetstream";
import type { ServerVersion } from "../conn/index.js";

// What the consumer contract is checked against: the stream's facts, the version gates, the
// metadata keys, and how a durable's filter reads.

/** nats-server 2.10 added `filter_subjects` and consumer `metadata`. */
export const FILTER_SUBJECTS_SINCE: ServerVersion = [2, 10, 0];

/** The consumer metadata keys jetroute stamps (2.10+): who owns the durable, and which version. */
export const ConsumerMetadata = {
  Route: "jetroute.route",
  Version: "jetroute.version",
  /**
   * Set by resetDurable when it re-creates a durable (2.10+; an ISO time): tells a running
   * route that the durable was rewound on purpose, not re-created by accident.
   */
  Reset: "jetroute.reset",
} as const;

/**
 * The shortest durable `max_expires` the engine pulls under: its pull requests carry an idle
 * heartbeat of at most half the expiry, and a heartbeat below 500 ms is noise, not liveness.
 */
export const MIN_MAX_EXPIRES_MS = 1_000;

/** What the contract needs to know of the route's stream (`jsm.streams.info`). */
export interface StreamFacts {
  /** The stream's subjects: what a durable without a filter consumes. */
  readonly subjects: readonly string[];
  /**
   * False when messages may be stored under other subjects than `subjects` (sources, a mirror,
   * a subject transform): a route subject outside them is then not a mistake.
   */
  readonly subjectsComplete: boolean;
  readonly retention: RetentionPolicy;
  /** The stream's `consumer_limits.max_ack_pending` (2.10+); 0 when it has none. */
  readonly maxAckPendingLimit: number;
  /** The stream's `consumer_limits.inactive_threshold` in ns (2.10+); 0 when it has none. */
  readonly inactiveThresholdLimit: number;
}

/** Stream facts before the stream was read: nothing known, nothing assumed. */
export const UNKNOWN_STREAM: StreamFacts = {
  subjects: [],
  subjectsComplete: false,
  retention: RetentionPolicy.Limits,
  maxAckPendingLimit: 0,
  inactiveThresholdLimit: 0,
};

/** The subjects a consumer config filters on; empty for "every subject of the stream". */
export function filterOf(config: Partial<ConsumerConfig>): readonly string[] {
  if (config.filter_subjects !== undefined && config.filter_subjects.length > 0) {
    return config.filter_subjects;
  }
  return config.filter_subject ? [config.filter_subject] : [];
}
