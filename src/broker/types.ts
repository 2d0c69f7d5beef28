import type { Connection } from "../conn/types.js";
import type { JetStreamRouteStats } from "../consumer/stats.js";
import type { CoreRouteStats } from "../core/stats.js";
import type { RouteProbe } from "../health/tracker.js";
import type { Logger } from "../logger/index.js";
import type { RouteObserver } from "../observe/index.js";
import type { Producer } from "../producer/types.js";
import type { Middleware, RouteSpec } from "../router/types.js";

/** What the broker hands each route when it runs. */
export interface RouteRunContext {
  readonly conn: Connection;
  /** Aborted when the broker stops (caller's signal, or another route failed). */
  readonly signal: AbortSignal;
  /** How long in-flight handlers get after `signal` aborts before their ctx.signal aborts. */
  readonly shutdownTimeoutMs: number;
  /** The broker's logger, already a child bound to `route`. */
  readonly logger: Logger;
  readonly producer: Producer;
  /** Broker-wide middleware, outermost first; applied outside the route's own. */
  readonly middleware: readonly Middleware[];
  /** Call once the route is consuming (consumer ready / subscription open). */
  readonly onStarted: () => void;
  /** Records an error for `health()` (`lastError`): the runtime calls it on every handler failure. */
  readonly recordError: (err: unknown) => void;
  /** How often a JetStream route reads its consumer's counts for `health()`, ms. */
  readonly healthIntervalMs: number;
  /** Observes each handled message (metrics, traces, service stats); undefined when nothing does. */
  readonly observer: RouteObserver | undefined;
}

/**
 * Runs one route kind. `run` provisions what the route needs, consumes until `ctx.signal` aborts,
 * drains (in-flight handlers finish or time out, outcomes applied, unstarted messages released),
 * and resolves. It rejects when the route cannot start or dies; the broker then stops the others.
 */
export interface RouteRunner {
  readonly spec: RouteSpec;
  run(ctx: RouteRunContext): Promise<void>;
  /** The route's counters and live gauges, readable during and after a run. */
  stats(): RouteStats;
  /** What `health()` reads of the route beyond its lifecycle: engine trouble, lag. */
  probe(): RouteProbe;
}

/** A route's stats: {@link JetStreamRouteStats} for JetStream routes (they have `held`), {@link CoreRouteStats} for core routes. */
export type RouteStats = JetStreamRouteStats | CoreRouteStats;

/** Builds the runner for a validated route spec. */
export type RouteRunnerFactory = (spec: RouteSpec) => RouteRunner;
