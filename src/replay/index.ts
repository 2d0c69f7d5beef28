// Replaying a stream range through a route's handler, and rewinding a durable consumer.
export { replay } from "./replay.js";
export { resetDurable } from "./reset.js";
export type {
  ReplayEnd,
  ReplayOptions,
  ReplayProgress,
  ReplaySummary,
  ResetOptions,
  ResetResult,
} from "./types.js";
