// The router module: declaring routes, validating them, backoff, outcomes and middleware.
export {
  custom,
  type ExponentialBackoff,
  exponential,
  fixed,
  type LinearBackoff,
  linear,
} from "./backoff.js";
export { buildPipeline, compose } from "./compose.js";
export * from "./middleware/index.js";
export {
  type RouteDraft,
  type RouteOption,
  RouteOptionName,
  withAckWait,
  withBackoff,
  withConcurrency,
  withDLQ,
  withDurable,
  withErrorPolicy,
  withFanOut,
  withHandlerTimeout,
  withIdleHeartbeat,
  withMaxAckPending,
  withMaxDeliver,
  withMaxPending,
  withMiddleware,
  withOnConsumerConflict,
  withOnConsumerLost,
  withOnError,
  withOnStreamRecreated,
  withPrefetch,
  withQueueGroup,
  withRequestReply,
  withStartAt,
  withStream,
  withSubject,
} from "./options.js";
export {
  ack,
  isOutcome,
  type RejectOptions,
  type RetryOptions,
  reject,
  retry,
} from "./outcome.js";
export { type Route, route } from "./route.js";
export * from "./types.js";
export { buildRouteSpec, validateRouteSet } from "./validate.js";
