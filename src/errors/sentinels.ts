import type { SchemaIssue } from "../schema/issues.js";
import { ErrorCode } from "./codes.js";
import { causeText, defineSentinel, describeValue, JetrouteError } from "./errors.js";

// One class per code. `instanceof ErrX` or `err.code === ErrorCode.X`; never compare messages.

export const ErrInvalidOption = defineSentinel(ErrorCode.InvalidOption, "ErrInvalidOption");
export const ErrInvalidDuration = defineSentinel(ErrorCode.InvalidDuration, "ErrInvalidDuration");
export const ErrInvalidStreamName = defineSentinel(
  ErrorCode.InvalidStreamName,
  "ErrInvalidStreamName",
);
export const ErrConnectFailed = defineSentinel(ErrorCode.ConnectFailed, "ErrConnectFailed");
export const ErrConnectionClosed = defineSentinel(
  ErrorCode.ConnectionClosed,
  "ErrConnectionClosed",
);
export const ErrStreamNotFound = defineSentinel(ErrorCode.StreamNotFound, "ErrStreamNotFound");
/** The server refused a stream's configuration (immutable field changed, limits, replicas). */
export const ErrStreamConfigRejected = defineSentinel(
  ErrorCode.StreamConfigRejected,
  "ErrStreamConfigRejected",
);
export const ErrPublishFailed = defineSentinel(ErrorCode.PublishFailed, "ErrPublishFailed");
export const ErrExpectationFailed = defineSentinel(
  ErrorCode.ExpectationFailed,
  "ErrExpectationFailed",
);
export const ErrNoResponders = defineSentinel(ErrorCode.NoResponders, "ErrNoResponders");
export const ErrRequestTimeout = defineSentinel(ErrorCode.RequestTimeout, "ErrRequestTimeout");
export const ErrDecode = defineSentinel(ErrorCode.Decode, "ErrDecode");
export const ErrEncode = defineSentinel(ErrorCode.Encode, "ErrEncode");
export const ErrRouteNameRequired = defineSentinel(
  ErrorCode.RouteNameRequired,
  "ErrRouteNameRequired",
);
export const ErrHandlerRequired = defineSentinel(ErrorCode.HandlerRequired, "ErrHandlerRequired");
export const ErrSubjectRequired = defineSentinel(ErrorCode.SubjectRequired, "ErrSubjectRequired");
export const ErrStreamRequired = defineSentinel(ErrorCode.StreamRequired, "ErrStreamRequired");
export const ErrInvalidConcurrency = defineSentinel(
  ErrorCode.InvalidConcurrency,
  "ErrInvalidConcurrency",
);
export const ErrInvalidMaxDeliver = defineSentinel(
  ErrorCode.InvalidMaxDeliver,
  "ErrInvalidMaxDeliver",
);
export const ErrInvalidBackoff = defineSentinel(ErrorCode.InvalidBackoff, "ErrInvalidBackoff");
export const ErrDuplicateRoute = defineSentinel(ErrorCode.DuplicateRoute, "ErrDuplicateRoute");
export const ErrDLQLoop = defineSentinel(ErrorCode.DLQLoop, "ErrDLQLoop");
export const ErrOptionNotSupported = defineSentinel(
  ErrorCode.OptionNotSupported,
  "ErrOptionNotSupported",
);
export const ErrDLQStreamMissing = defineSentinel(
  ErrorCode.DLQStreamMissing,
  "ErrDLQStreamMissing",
);
export const ErrConsumerLost = defineSentinel(ErrorCode.ConsumerLost, "ErrConsumerLost");
/** The server kept refusing the engine's pull requests (400, or 409 Exceeded MaxRequest... / MaxWaiting). */
export const ErrPullRejected = defineSentinel(ErrorCode.PullRejected, "ErrPullRejected");
/** The server refused a durable consumer's configuration (create or update); the message quotes it. */
export const ErrConsumerConfigRejected = defineSentinel(
  ErrorCode.ConsumerConfigRejected,
  "ErrConsumerConfigRejected",
);
/** A route asks for something the connected nats-server is too old for; the message names the version needed. */
export const ErrServerUnsupported = defineSentinel(
  ErrorCode.ServerUnsupported,
  "ErrServerUnsupported",
);
export const ErrHandlerTimeout = defineSentinel(ErrorCode.HandlerTimeout, "ErrHandlerTimeout");
export const ErrShutdownTimeout = defineSentinel(ErrorCode.ShutdownTimeout, "ErrShutdownTimeout");
export const ErrBrokerRunning = defineSentinel(ErrorCode.BrokerRunning, "ErrBrokerRunning");
/** `Broker.started()` rejects with it when the broker stopped before every route started. */
export const ErrBrokerStopped = defineSentinel(ErrorCode.BrokerStopped, "ErrBrokerStopped");
export const ErrConnectionRequired = defineSentinel(
  ErrorCode.ConnectionRequired,
  "ErrConnectionRequired",
);
/**
 * `withService`: the `$SRV` responder could not subscribe (a permissions violation, the
 * connection closed); `cause` is NATS's error. `run()` rejects with it before any route starts.
 */
export const ErrServiceDiscoveryFailed = defineSentinel(
  ErrorCode.ServiceDiscoveryFailed,
  "ErrServiceDiscoveryFailed",
);
/** `resetDurable` refused: a route of this process is consuming the durable right now (stop it first). */
export const ErrDurableRunning = defineSentinel(ErrorCode.DurableRunning, "ErrDurableRunning");
/** A durable consumer that an operation needs (`resetDurable`) does not exist on the stream. */
export const ErrConsumerNotFound = defineSentinel(
  ErrorCode.ConsumerNotFound,
  "ErrConsumerNotFound",
);
/**
 * The stream's retention policy rules the operation out: `replay` on a work-queue stream (the
 * server refuses a second, unacknowledged reader there), `resetDurable` on a work-queue or
 * interest stream (acknowledged messages are deleted, and the server refuses
 * `by_start_sequence` there). The message names the stream and its retention.
 */
export const ErrRetentionUnsupported = defineSentinel(
  ErrorCode.RetentionUnsupported,
  "ErrRetentionUnsupported",
);
/** `getDeadLetter`: the DLQ stream has no message at that sequence (never stored, removed or aged out). */
export const ErrDeadLetterNotFound = defineSentinel(
  ErrorCode.DeadLetterNotFound,
  "ErrDeadLetterNotFound",
);
/**
 * `withHttpEndpoint`: the HTTP server could not listen on its port (in use, a privileged port,
 * an address this machine does not have); `run()` rejects with it before any route starts. The
 * message names the port and the fix; `cause` is Node's error (`code` `EADDRINUSE`, `EACCES`, ...).
 */
export const ErrHttpListen = defineSentinel(ErrorCode.HttpListen, "ErrHttpListen");
// inbox
/**
 * An inbox store failed to claim or record a message key: the handler did not run, or its
 * effect was not committed. The message is nak'd with the route's backoff (dead-lettered on its
 * final delivery); `cause` is the store's error.
 */
export const ErrInboxStoreFailed = defineSentinel(
  ErrorCode.InboxStoreFailed,
  "ErrInboxStoreFailed",
);
/**
 * The inbox's KV bucket exists with settings the inbox cannot run with (another TTL, a TTL not
 * longer than the lease), or its PostgreSQL table is missing: the route fails at start.
 */
export const ErrInboxStoreConflict = defineSentinel(
  ErrorCode.InboxStoreConflict,
  "ErrInboxStoreConflict",
);
/** `pgInbox(...).transaction(ctx)` outside a handler of a route with that inbox, or after it returned. */
export const ErrInboxNoTransaction = defineSentinel(
  ErrorCode.InboxNoTransaction,
  "ErrInboxNoTransaction",
);
export const ErrNatsServerMissing = defineSentinel(
  ErrorCode.NatsServerMissing,
  "ErrNatsServerMissing",
);
export const ErrNatsServerStart = defineSentinel(ErrorCode.NatsServerStart, "ErrNatsServerStart");
/** jetroute/testing: `settled()` gave up with messages still unsettled (a handler that always retries?). */
export const ErrNotSettled = defineSentinel(ErrorCode.NotSettled, "ErrNotSettled");
// outbox (issue 13, h-pg)
/** The outbox table or one of its columns is missing: run `migrateOutbox(pool, { table })`. */
export const ErrOutboxTableMissing = defineSentinel(
  ErrorCode.OutboxTableMissing,
  "ErrOutboxTableMissing",
);
/** `outbox.enqueue` could not insert the event; `cause` is the driver's error. */
export const ErrOutboxEnqueueFailed = defineSentinel(
  ErrorCode.OutboxEnqueueFailed,
  "ErrOutboxEnqueueFailed",
);
/** `migrateOutbox` failed; `cause` is the driver's error. */
export const ErrOutboxMigrationFailed = defineSentinel(
  ErrorCode.OutboxMigrationFailed,
  "ErrOutboxMigrationFailed",
);
// testing helpers: PostgreSQL harness (issue 13, h-pg)
/** jetroute/testing: `startPostgres()` found no PostgreSQL server binaries (see `npm run setup`). */
export const ErrPostgresMissing = defineSentinel(ErrorCode.PostgresMissing, "ErrPostgresMissing");
/** jetroute/testing: `startPostgres()` could not initialise or start the server; the message has its log. */
export const ErrPostgresStart = defineSentinel(ErrorCode.PostgresStart, "ErrPostgresStart");

/** A subject that may not be published to or consumed from. */
export class ErrInvalidSubject extends JetrouteError<typeof ErrorCode.InvalidSubject> {
  readonly subject: unknown;
  constructor(subject: unknown, reason: string, options?: ErrorOptions) {
    super(
      ErrorCode.InvalidSubject,
      `invalid subject ${describeValue(subject)}: ${reason}`,
      options,
    );
    this.subject = subject;
  }
}

/**
 * Subjects requested for a stream already belong to another stream, or partly overlap one of the
 * stream's own subjects without either covering the other (then `otherStream` is the stream).
 */
export class ErrSubjectOverlap extends JetrouteError<typeof ErrorCode.SubjectOverlap> {
  readonly stream: string;
  readonly otherStream: string;
  readonly subjects: readonly string[];
  constructor(
    stream: string,
    otherStream: string,
    subjects: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      ErrorCode.SubjectOverlap,
      `stream "${stream}": subjects ${subjects.join(", ")} overlap with stream "${otherStream}"`,
      options,
    );
    this.stream = stream;
    this.otherStream = otherStream;
    this.subjects = subjects;
  }
}

/**
 * A request answered with an error reply (`Nats-Service-Error` / `Nats-Service-Error-Code`).
 * `issues`: the validation issues of a 400 from a route whose payload failed its schema
 * (`Jetroute-Schema-Issues`); undefined otherwise.
 */
export class ErrService extends JetrouteError<typeof ErrorCode.ServiceError> {
  readonly serviceCode: number;
  readonly description: string;
  readonly subject: string;
  readonly issues: readonly SchemaIssue[] | undefined;
  constructor(
    subject: string,
    serviceCode: number,
    description: string,
    options?: ErrorOptions & { readonly issues?: readonly SchemaIssue[] | undefined },
  ) {
    super(
      ErrorCode.ServiceError,
      `${subject} replied with error ${serviceCode}: ${description}`,
      options,
    );
    this.serviceCode = serviceCode;
    this.description = description;
    this.subject = subject;
    this.issues = options?.issues;
  }
}

/**
 * An envelope that is not one: bytes that are not a JSON envelope, a field missing or of the
 * wrong type (`decodeEnvelope`, `readEnvelope`), or bad input to `envelope()`. `issues` lists
 * every problem with its field's path (wire names, e.g. `["occurred_at"]`, for decoded
 * envelopes; input names for `envelope()`).
 */
export class ErrInvalidEnvelope extends JetrouteError<typeof ErrorCode.InvalidEnvelope> {
  readonly issues: readonly SchemaIssue[];
  constructor(message: string, issues: readonly SchemaIssue[], options?: ErrorOptions) {
    super(ErrorCode.InvalidEnvelope, message, options);
    this.issues = issues;
  }
}

/** A route failed to start or died while running; `route` names it, `cause` says why. */
export class ErrRouteFailed extends JetrouteError<typeof ErrorCode.RouteFailed> {
  readonly route: string;
  constructor(route: string, options: ErrorOptions) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(ErrorCode.RouteFailed, `route "${route}" failed: ${why}`, options);
    this.route = route;
  }
}

/** Where a dead letter was headed when it could not be stored; see {@link ErrDeadLetterFailed}. */
export interface DeadLetterFailure {
  readonly route: string;
  /** The route's DLQ subject. */
  readonly dlq: string;
  /** The original message's stream and stream sequence. */
  readonly stream: string;
  readonly seq: number;
  /** What the operator must change, e.g. `raise max_msg_size of the stream storing "dlq.x"`. */
  readonly fix: string;
}

/**
 * A dead letter that can never be stored as things stand (no stream for the DLQ subject, no
 * permission to publish there, too large even without its payload). The original message is
 * left unterminated, so it is redelivered once the fix is made; the route fails with this as
 * the cause of ErrRouteFailed.
 */
export class ErrDeadLetterFailed extends JetrouteError<typeof ErrorCode.DeadLetterFailed> {
  readonly route: string;
  readonly dlq: string;
  readonly stream: string;
  readonly seq: number;
  constructor(failure: DeadLetterFailure, options?: ErrorOptions) {
    const { route, dlq, stream, seq, fix } = failure;
    const why = options?.cause === undefined ? "" : `: ${causeText(options.cause)}`;
    super(
      ErrorCode.DeadLetterFailed,
      `route "${route}" cannot dead-letter ${stream}:${seq} to "${dlq}"${why}; ${fix} (the message is kept and redelivered)`,
      options,
    );
    this.route = route;
    this.dlq = dlq;
    this.stream = stream;
    this.seq = seq;
  }
}

/**
 * A route's stream was deleted and created again under the same name (or a memory stream was
 * lost with its server and provisioned anew) while the route ran, with
 * `withOnStreamRecreated("fail")`. Its sequences restarted, so the ack floor the route knew
 * belongs to the old stream. `previousCreated` / `created`: the two streams' created times (ISO).
 */
export class ErrStreamRecreated extends JetrouteError<typeof ErrorCode.StreamRecreated> {
  readonly stream: string;
  readonly route: string;
  readonly previousCreated: string;
  readonly created: string;
  constructor(
    route: string,
    stream: string,
    previousCreated: string,
    created: string,
    options?: ErrorOptions,
  ) {
    super(
      ErrorCode.StreamRecreated,
      `stream "${stream}" of route "${route}" was created again (created ${previousCreated}, now ${created}): its sequences restarted; ` +
        `to consume the new stream from its first message, use withOnStreamRecreated("consume")`,
      options,
    );
    this.stream = stream;
    this.route = route;
    this.previousCreated = previousCreated;
    this.created = created;
  }
}

/** A stream setting that makes the server refuse an operation on every message of the stream. */
export type StreamDenySetting = "deny_delete" | "deny_purge";

/**
 * The server refused to delete or purge messages of `stream` because of its configuration:
 * `deny_delete` refuses deleting single messages, `deny_purge` purging. Neither can be turned off
 * on an existing stream; the message says what to do instead. Thrown by `purgeDeadLetters`;
 * `redriveDeadLetters` reports it per letter, as the `cause` of a `remove` failure.
 */
export class ErrStreamOperationRefused extends JetrouteError<
  typeof ErrorCode.StreamOperationRefused
> {
  readonly stream: string;
  readonly setting: StreamDenySetting;
  /**
   * @param action what was refused, as a verb phrase: `delete dead letter 5`
   * @param fix what to do instead, one or two sentences
   */
  constructor(
    stream: string,
    setting: StreamDenySetting,
    action: string,
    fix: string,
    options?: ErrorOptions,
  ) {
    super(
      ErrorCode.StreamOperationRefused,
      `stream "${stream}" refused to ${action}: it has ${setting} set, which cannot be turned off on an existing stream; ${fix}`,
      options,
    );
    this.stream = stream;
    this.setting = setting;
  }
}
