// Prometheus metrics (prom-client): `withMetrics` for a broker, `withPublishMetrics` for a
// producer, and the metric names they export.
export { MetricName } from "./names.js";
export {
  type MetricsOptions,
  type PublishMetricsOptions,
  withMetrics,
  withPublishMetrics,
} from "./option.js";
