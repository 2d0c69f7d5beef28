// Transactional outbox on PostgreSQL: `createOutbox(pool, producer, ...options)` (enqueue inside
// the caller's transaction, relay to JetStream), its migration, options, metrics and types.
export { OutboxMetricName } from "./metrics.js";
export {
  migrateOutbox,
  type OutboxMigrationOptions,
  outboxMigrationSql,
} from "./migration.js";
export {
  type OutboxDraft,
  type OutboxOption,
  withOutboxCodec,
  withOutboxLogger,
  withOutboxMetrics,
  withOutboxTable,
  withRelayBackoff,
  withRelayBatchSize,
  withRelayConcurrency,
  withRelayListen,
  withRelayPollInterval,
} from "./options.js";
export { createOutbox } from "./outbox.js";
export type {
  EnqueueResult,
  Outbox,
  OutboxEvent,
  OutboxLag,
  OutboxPurgeOptions,
  RelayOptions,
  SqlPool,
  SqlPoolClient,
  SqlQueryable,
  SqlResult,
} from "./types.js";
