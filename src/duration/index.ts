export {
  type Duration,
  type DurationUnit,
  millisToNanos,
  nanosToMillis,
  toMillis,
} from "./duration.js";
