export { ErrorCode } from "./codes.js";
export { type ConsumerConflict, ErrConsumerConfigConflict } from "./consumer.js";
export {
  causeText,
  defineSentinel,
  describeValue,
  findJetrouteError,
  invalidValueMessage,
  isJetrouteError,
  JetrouteError,
  type SentinelClass,
} from "./errors.js";
export * from "./sentinels.js";
