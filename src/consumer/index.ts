// The JetStream engine: durable pull consumer, bounded workers, outcome -> ack/nak/term, DLQ.
export { DeadLetterHeader, supportsTermReason } from "./dead-letter.js";
export {
  ABANDON_AFTER_MS,
  FLOOR_REFRESH_MS,
  type JetStreamRouteRunner,
  jetStreamRunner,
} from "./engine.js";
export {
  type ConfigChange,
  consumerChanges,
  desiredConsumerConfig,
  type Provisioned,
  type ProvisionResult,
} from "./provision.js";
export {
  type DeliverFrom,
  type RecoveryPlan,
  recoveryPlan,
  type StreamIdentity,
} from "./recovery.js";
export { SeqRanges } from "./seq-ranges.js";
export { decideSettlement, FALLBACK_DELAY_MS, type Settlement } from "./settle.js";
export type { JetStreamRouteStats } from "./stats.js";
