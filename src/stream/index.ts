// Streams: `ensureStream` (idempotent, overlap-safe create-or-update), delete, exists.
export type { StreamInfo } from "@nats-io/jetstream";
export { deleteStream, ensureStream, streamExists } from "./ensure.js";
export {
  type StreamDiscard,
  type StreamDraft,
  type StreamOption,
  type StreamRetention,
  type StreamStorage,
  validateStreamName,
  withDiscard,
  withDuplicateWindow,
  withMaxAge,
  withMaxBytes,
  withMaxMsgSize,
  withMaxMsgs,
  withReplicas,
  withRetention,
  withSkipCoveredSubjects,
  withStorage,
  withSubjects,
} from "./options.js";
export {
  type CoveredSubject,
  findOverlaps,
  planSubjects,
  type StreamOverlap,
  type StreamSubjects,
  type SubjectConflict,
  type SubjectPlan,
  subjectCovers,
  subjectsOverlap,
} from "./overlap.js";
