// The whole public API of jetroute. Nothing outside this file is public
// (the test harness is published separately as `jetroute/testing`).
export {
  Broker,
  type BrokerOption,
  type RouteStats,
  withBrokerMiddleware,
  withConnection,
  withHealthInterval,
  withProducer,
  withShutdownTimeout,
} from "./broker/index.js";
export * from "./codec/index.js";
export * from "./conn/index.js";
export {
  ConsumerMetadata,
  DeadLetterHeader,
  type JetStreamRouteStats,
  type ReplayGuardStats,
} from "./consumer/index.js";
export { type CoreRouteStats, ReplyCode } from "./core/index.js";
export * from "./dlq/index.js";
export * from "./duration/index.js";
export * from "./envelope/index.js";
export * from "./errors/index.js";
export type {
  BrokerHealth,
  BrokerState,
  ConnectionStatus,
  ConsumerLag,
  RouteError,
  RouteHealth,
  RouteState,
} from "./health/index.js";
export * from "./http/index.js";
export {
  type InboxEnv,
  type InboxKey,
  type InboxMigrationOptions,
  type InboxOptions,
  type InboxSession,
  type InboxSpec,
  type InboxStats,
  type InboxStore,
  type InboxVerdict,
  type InboxWork,
  type KvInboxOptions,
  kvInbox,
  migrateInbox,
  type PgInbox,
  type PgInboxClient,
  type PgInboxOptions,
  type PgInboxPool,
  type PgInboxPurgeOptions,
  type PgInboxResult,
  type PgQueryable,
  pgInbox,
  withInbox,
} from "./inbox/index.js";
export * from "./logger/index.js";
export * from "./metrics/index.js";
export * from "./outbox/index.js";
export type { StartAt, StreamPosition } from "./position/index.js";
export * from "./producer/index.js";
export * from "./replay/index.js";
export * from "./router/index.js";
export type { HandlerResult } from "./runtime/index.js";
export {
  SCHEMA_ISSUES_HEADER_MAX_CHARS,
  type SchemaIssue,
  SchemaIssuesHeader,
  type ValidatedHandler,
  validated,
} from "./schema/index.js";
export * from "./service/index.js";
export * from "./stream/index.js";
export * from "./subject/index.js";
export {
  TraceAttribute,
  TraceEvent,
  type TracingOption,
  type TracingOptions,
  withTracing,
} from "./tracing/index.js";
export { JETROUTE_VERSION } from "./version.js";
