import type { Registry } from "prom-client";
import type { Connection } from "../conn/types.js";
import type { BrokerHealth, BrokerState } from "../health/index.js";
import type { Logger } from "../logger/index.js";
import type { RouteSpec } from "../router/types.js";
import type { RouteStats } from "./types.js";

/** What an attachment sees of the broker it runs with. */
export interface BrokerView {
  readonly conn: Connection;
  /** The broker's logger. */
  readonly logger: Logger;
  /** The broker's state now (`starting`, `running`, `draining`, ...). */
  state(): BrokerState;
  /** `broker.health()`. */
  health(): Promise<BrokerHealth>;
  /** `broker.stats()`. */
  stats(): Readonly<Record<string, RouteStats>>;
  /** The registered routes' specs, in order. */
  routes(): readonly RouteSpec[];
  /** The registry of `withMetrics`; undefined when metrics are off. */
  readonly metricsRegistry: Registry | undefined;
}

/** A started attachment; `stop` releases everything it holds (sockets, subscriptions, timers). */
export interface AttachmentHandle {
  stop(): Promise<void>;
}

/**
 * Something that lives as long as one `broker.run()`: the HTTP endpoint, the `$SRV` responder.
 * Started in order before any route (a rejection fails `run()` before a route starts), stopped
 * in reverse order after every route drained, also when `run()` fails.
 */
export interface BrokerAttachment {
  /** A short name for errors and logs ("http endpoint"). */
  readonly name: string;
  start(view: BrokerView): Promise<AttachmentHandle>;
}
