// Dead-letter operations on a DLQ stream: list / show (decoded `Jetroute-*` headers), redrive to
// the original subject (deduplicated, removed only after the PubAck), purge (all or filtered).
export { decodeDeadLetter, type RawDeadLetter, RedriveHeader } from "./decode.js";
export { type ResolvedFilter, resolveDeadLetterFilter } from "./filter.js";
export { type DeadLetterJSON, deadLetterToJSON } from "./json.js";
export { redriveMsgId } from "./plan.js";
export { purgeDeadLetters } from "./purge.js";
export { getDeadLetter, iterateDeadLetters, listDeadLetters } from "./read.js";
export { redriveDeadLetters } from "./redrive.js";
export type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterScanOptions,
  ListDeadLettersOptions,
  PurgeOptions,
  PurgeSummary,
  RedriveEvent,
  RedriveFailure,
  RedriveOptions,
  RedrivePlan,
  RedriveSummary,
} from "./types.js";
