// Health: the lifecycle of each route and what `broker.health()` reports.
export { type RouteProbe, RouteTracker } from "./tracker.js";
export type {
  BrokerHealth,
  BrokerState,
  ConnectionStatus,
  ConsumerLag,
  RouteError,
  RouteHealth,
  RouteState,
} from "./types.js";
