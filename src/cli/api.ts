// The library APIs the CLI commands call: replay and resetDurable (src/replay), the dead-letter
// operations (src/dlq). One place, so a command never reaches into another module's files.
export {
  type DeadLetter,
  type DeadLetterFilter,
  getDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  type RedriveEvent,
  type RedriveFailure,
  type RedriveSummary,
  redriveDeadLetters,
} from "../dlq/index.js";
export {
  type ReplayProgress,
  type ReplaySummary,
  type ResetResult,
  replay,
  resetDurable,
} from "../replay/index.js";
export { describeIssue } from "../schema/index.js";
