// The JetStream engine: its own pull, bounded workers, settlement table, dead letters, recovery.

export {
  type ConfigChange,
  ConsumerMetadata,
  type ContractCheck,
  checkConsumer,
  desiredConsumerConfig,
  FILTER_SUBJECTS_SINCE,
  MIN_MAX_EXPIRES_MS,
  type StreamFacts,
} from "./contract.js";
export {
  DeadLetterHeader,
  type DeadLetterResult,
  type DeadLetterSource,
  deadLetterHeaders,
  storeDeadLetter,
  supportsTermReason,
} from "./dead-letter.js";
export { classifyDeadLetterFailure, type DeadLetterFailureKind } from "./dead-letter-failure.js";
export {
  REPLAY_DURABLE_SUFFIX,
  RedriveHeader,
  redrivenForOther,
} from "./dead-letter-headers.js";
export { PULL } from "./lifecycle.js";
export { LazyChildLogger } from "./message-logger.js";
export {
  type Provisioned,
  type ProvisionResult,
  provisionConsumer,
} from "./provision.js";
export { FLOOR_REFRESH_MS } from "./recover.js";
export {
  type DeliverFrom,
  type RecoveryPlan,
  recoveryPlan,
  type StreamIdentity,
} from "./recovery.js";
export {
  DEFAULT_REPLAY_GUARD_CAPACITY,
  ReplayGuard,
  type ReplayGuardStats,
} from "./replay-guard.js";
export { type JetStreamRouteRunner, jetStreamRunner } from "./runner.js";
export { claimDurable, isDurableRunning } from "./running.js";
export {
  backoffDelay,
  beforeRun,
  decideSettlement,
  FALLBACK_DELAY_MS,
  type Settlement,
  UNSETTLED_DELIVERY_ALLOWANCE,
} from "./settle.js";
export type { JetStreamRouteStats } from "./stats.js";
export {
  factsOf,
  isConsumerNotFound,
  isStreamNotFound,
  requireStoredSubjects,
} from "./stream-checks.js";
