// The JetStream engine: durable pull consumer, bounded workers, outcome -> ack/nak/term, DLQ.
export { DeadLetterHeader, supportsTermReason } from "./dead-letter.js";
export { ABANDON_AFTER_MS, jetStreamRunner } from "./engine.js";
export {
  type ConfigChange,
  consumerChanges,
  desiredConsumerConfig,
  type ProvisionResult,
} from "./provision.js";
export { decideSettlement, FALLBACK_DELAY_MS, type Settlement } from "./settle.js";
