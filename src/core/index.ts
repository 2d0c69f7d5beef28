// Core NATS routes (request-reply, queue, fan-out): the runner the broker uses for them.

// For jetroute/testing: the same reply a request route sends, decided by the same code.
export type { Reply } from "./reply.js";
export { ReplyCode } from "./reply.js";
export { handleResult, type ResultScope } from "./result.js";
export { type CoreRouteRunner, type CoreRouteSpec, coreRunner } from "./runner.js";
export type { CoreRouteStats } from "./stats.js";
export { StatsCounter as CoreStatsCounter } from "./stats.js";
