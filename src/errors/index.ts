export { ErrorCode } from "./codes.js";
export {
  causeText,
  describeValue,
  defineSentinel,
  findJetrouteError,
  invalidValueMessage,
  isJetrouteError,
  JetrouteError,
  type SentinelClass,
} from "./errors.js";
export * from "./sentinels.js";
