export { type LoggingOptions, logging } from "./logging.js";
export { type MessageMetric, metrics } from "./metrics.js";
export { type RecoverOptions, recover } from "./recover.js";
export { timeout } from "./timeout.js";
