/**
 * Stable error codes. A code never changes once released; callers `switch` on it.
 * Grouped by the module that raises them.
 */
export const ErrorCode = {
  // input and options (any module)
  InvalidOption: "ERR_INVALID_OPTION",
  InvalidDuration: "ERR_INVALID_DURATION",
  InvalidSubject: "ERR_INVALID_SUBJECT",
  InvalidStreamName: "ERR_INVALID_STREAM_NAME",
  // conn
  ConnectFailed: "ERR_CONNECT_FAILED",
  ConnectionClosed: "ERR_CONNECTION_CLOSED",
  // stream
  SubjectOverlap: "ERR_SUBJECT_OVERLAP",
  StreamNotFound: "ERR_STREAM_NOT_FOUND",
  StreamConfigRejected: "ERR_STREAM_CONFIG_REJECTED",
  // producer
  PublishFailed: "ERR_PUBLISH_FAILED",
  ExpectationFailed: "ERR_EXPECTATION_FAILED",
  NoResponders: "ERR_NO_RESPONDERS",
  RequestTimeout: "ERR_REQUEST_TIMEOUT",
  ServiceError: "ERR_SERVICE_ERROR",
  Decode: "ERR_DECODE",
  Encode: "ERR_ENCODE",
  // router
  RouteNameRequired: "ERR_ROUTE_NAME_REQUIRED",
  HandlerRequired: "ERR_HANDLER_REQUIRED",
  SubjectRequired: "ERR_SUBJECT_REQUIRED",
  StreamRequired: "ERR_STREAM_REQUIRED",
  InvalidConcurrency: "ERR_INVALID_CONCURRENCY",
  InvalidMaxDeliver: "ERR_INVALID_MAX_DELIVER",
  InvalidBackoff: "ERR_INVALID_BACKOFF",
  DuplicateRoute: "ERR_DUPLICATE_ROUTE",
  DLQLoop: "ERR_DLQ_LOOP",
  OptionNotSupported: "ERR_OPTION_NOT_SUPPORTED",
  // consumer / broker
  DLQStreamMissing: "ERR_DLQ_STREAM_MISSING",
  DeadLetterFailed: "ERR_DEAD_LETTER_FAILED",
  ConsumerLost: "ERR_CONSUMER_LOST",
  PullRejected: "ERR_PULL_REJECTED",
  StreamRecreated: "ERR_STREAM_RECREATED",
  ConsumerConfigConflict: "ERR_CONSUMER_CONFIG_CONFLICT",
  ConsumerConfigRejected: "ERR_CONSUMER_CONFIG_REJECTED",
  ServerUnsupported: "ERR_SERVER_UNSUPPORTED",
  RouteFailed: "ERR_ROUTE_FAILED",
  HandlerTimeout: "ERR_HANDLER_TIMEOUT",
  ShutdownTimeout: "ERR_SHUTDOWN_TIMEOUT",
  BrokerRunning: "ERR_BROKER_RUNNING",
  BrokerStopped: "ERR_BROKER_STOPPED",
  ConnectionRequired: "ERR_CONNECTION_REQUIRED",
  // service discovery
  ServiceDiscoveryFailed: "ERR_SERVICE_DISCOVERY_FAILED",
  // http endpoint
  /** `withHttpEndpoint`: the server could not listen (port in use, no permission, no such address). */
  HttpListen: "ERR_HTTP_LISTEN",
  // replay
  DurableRunning: "ERR_DURABLE_RUNNING",
  ConsumerNotFound: "ERR_CONSUMER_NOT_FOUND",
  RetentionUnsupported: "ERR_RETENTION_UNSUPPORTED",
  // dlq
  DeadLetterNotFound: "ERR_DEAD_LETTER_NOT_FOUND",
  StreamOperationRefused: "ERR_STREAM_OPERATION_REFUSED",
  // envelope
  /** Bytes that are not a valid envelope, or bad input to `envelope()`: see `ErrInvalidEnvelope.issues`. */
  InvalidEnvelope: "ERR_INVALID_ENVELOPE",
  // outbox (issue 13, h-pg)
  /** The outbox table (or its columns) does not exist: run `migrateOutbox(pool)` first. */
  OutboxTableMissing: "ERR_OUTBOX_TABLE_MISSING",
  /** `outbox.enqueue`: the INSERT failed (the cause is the driver's error; the transaction is aborted). */
  OutboxEnqueueFailed: "ERR_OUTBOX_ENQUEUE_FAILED",
  /** `migrateOutbox`: the migration's SQL failed (the cause is the driver's error). */
  OutboxMigrationFailed: "ERR_OUTBOX_MIGRATION_FAILED",
  // inbox (withInbox, kvInbox, pgInbox)
  /** An inbox store could not claim or record a message key (KV or PostgreSQL unavailable, commit failed). */
  InboxStoreFailed: "ERR_INBOX_STORE_FAILED",
  /** An inbox's bucket or table exists with settings it cannot run with, or is missing. */
  InboxStoreConflict: "ERR_INBOX_STORE_CONFLICT",
  /** `pgInbox(...).transaction(ctx)` outside a handler of a route with that inbox, or after it returned. */
  InboxNoTransaction: "ERR_INBOX_NO_TRANSACTION",
  // testing helpers
  NatsServerMissing: "ERR_NATS_SERVER_MISSING",
  NatsServerStart: "ERR_NATS_SERVER_START",
  /** A test backend's `settled()` gave up: messages were still unsettled. */
  NotSettled: "ERR_NOT_SETTLED",
  // testing helpers: PostgreSQL harness (issue 13, h-pg)
  /** `startPostgres()`: no `initdb`/`postgres` binaries under /usr/lib/postgresql/<n>/bin or JETROUTE_PG_BIN. */
  PostgresMissing: "ERR_POSTGRES_MISSING",
  /** `startPostgres()`: initdb failed or the server did not accept connections in time. */
  PostgresStart: "ERR_POSTGRES_START",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
