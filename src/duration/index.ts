export { doublingDelay, toBackoffMillis } from "./backoff.js";
export {
  type Duration,
  type DurationUnit,
  MAX_TIMER_MS,
  millisToNanos,
  nanosToMillis,
  toMillis,
  toTimerMillis,
} from "./duration.js";
