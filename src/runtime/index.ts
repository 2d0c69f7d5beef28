// The runtime module: the one place that runs a handler, for every route kind.
export { guardHook } from "./hook.js";
export {
  type HandlerResult,
  type HandlerRuntime,
  handlerRuntime,
  type InlineHandlerRuntime,
  isShutdownAbort,
  RETURNED_NOTHING,
} from "./runtime.js";
