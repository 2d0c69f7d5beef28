// Core NATS routes (request-reply, queue, fan-out): the runner the broker uses for them.
export { ReplyCode } from "./reply.js";
export { type CoreRouteRunner, type CoreRouteSpec, coreRunner } from "./runner.js";
export type { CoreRouteStats } from "./stats.js";
