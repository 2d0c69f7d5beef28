/**
 * Every metric jetroute exports, by Prometheus conventions: `jetroute_` prefix, `_total` on
 * counters, base units (`_seconds`), bounded labels (route, stream, outcome, kind; never
 * subjects or ids). Core routes have `stream=""`.
 */
export const MetricName = {
  received: "jetroute_messages_received_total",
  settled: "jetroute_messages_settled_total",
  handlerDuration: "jetroute_handler_duration_seconds",
  inFlight: "jetroute_messages_in_flight",
  held: "jetroute_messages_held",
  pending: "jetroute_consumer_pending_messages",
  ackPending: "jetroute_consumer_ack_pending_messages",
  redelivered: "jetroute_consumer_redelivered_messages",
  waiting: "jetroute_consumer_waiting_pulls",
  routeRunning: "jetroute_route_running",
  connected: "jetroute_connection_connected",
  reconnects: "jetroute_connection_reconnects_total",
  publishes: "jetroute_publishes_total",
  publishDuplicates: "jetroute_publish_duplicates_total",
  publishFailures: "jetroute_publish_failures_total",
  publishDuration: "jetroute_publish_duration_seconds",
} as const;

/** Handler durations, seconds: from a fast in-memory handler to a minute-long job. */
export const HANDLER_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Publish latencies, seconds: a core publish is a hand-off, a JetStream one a round trip. */
export const PUBLISH_BUCKETS: readonly number[] = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
