import { setMaxListeners } from "node:events";
import type { Registry } from "prom-client";
import {
  ErrBrokerRunning,
  ErrBrokerStopped,
  ErrInvalidOption,
  ErrRouteFailed,
} from "../errors/index.js";
import {
  type BrokerHealth,
  type BrokerState,
  type RouteHealth,
  RouteTracker,
} from "../health/index.js";
import type { HttpAddress } from "../http/types.js";
import type { Logger } from "../logger/index.js";
import { observerFor } from "../observe/index.js";
import { buildRouteSpec, type Route, validateRouteSet } from "../router/index.js";
import type { RouteSpec } from "../router/types.js";
import type { AttachmentHandle, BrokerView } from "./attachment.js";
import { type BrokerOption, type BrokerSettings, resolveBrokerSettings } from "./options.js";
import { runnerFor } from "./runners.js";
import type { RouteRunContext, RouteRunner, RouteStats } from "./types.js";

/**
 * Runs many routes on one connection under one AbortController. Routes fail fast together: the
 * first route that cannot start or dies stops the others, which drain, and `run` rejects with
 * ErrRouteFailed naming it. Stopping from the caller's signal drains every route; `run` resolves
 * only when all are done. A broker runs once.
 * @example
 * const conn = await connect(withServers("nats://127.0.0.1:4222"));
 * const broker = new Broker(withConnection(conn), withShutdownTimeout("10s"));
 * broker.register(
 *   route("charge", charge, withStream("ORDERS"), withSubject("orders.created"), withDLQ("dlq.orders")),
 * );
 * const stop = new AbortController();
 * process.once("SIGTERM", () => stop.abort());
 * await broker.run(stop.signal);
 * await conn.close();
 */
export class Broker {
  readonly #settings: BrokerSettings;
  readonly #specs: RouteSpec[] = [];
  /** One runner per registered route, made at register so stats() works before run(). */
  readonly #runners: RouteRunner[] = [];
  /** One lifecycle per runner, same order: what `health()` reports. */
  readonly #trackers: RouteTracker[] = [];
  #state: BrokerState = "idle";
  #ran = false;
  readonly #started: Promise<void>;
  #resolveStarted!: () => void;
  #rejectStarted!: (err: unknown) => void;

  /** Validates the options once; a bad or missing value throws its sentinel error. */
  constructor(...options: BrokerOption[]) {
    this.#settings = resolveBrokerSettings(options);
    this.#started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // Callers that never ask started() must not see an unhandled rejection.
    this.#started.catch(() => {});
  }

  /**
   * Validates and adds routes. Throws synchronously: the route's sentinel error for a bad
   * option, ErrDuplicateRoute for a name or durable already registered, ErrBrokerRunning once
   * `run()` was called. Nothing is added when any route is bad.
   */
  register(...routes: Route[]): this {
    if (this.#ran) throw new ErrBrokerRunning("register() called after run()");
    const specs = routes.map((r) => buildRouteSpec(r));
    validateRouteSet([...this.#specs, ...specs]);
    this.#specs.push(...specs);
    this.#runners.push(...specs.map(runnerFor));
    this.#trackers.push(...specs.map(() => new RouteTracker()));
    return this;
  }

  /** The validated specs registered so far, in order. */
  routes(): readonly RouteSpec[] {
    return [...this.#specs];
  }

  /**
   * Each route's counters and live gauges by route name. JetStream routes report
   * {@link JetStreamRouteStats} (`held`: messages received and not yet settled, bounded by
   * concurrency + prefetch; `inFlight`; acked/nak'd/dead-lettered counts); core routes report
   * {@link CoreRouteStats}. Counters are cumulative; read at any time, during or after `run`.
   * @example
   * const s = broker.stats().charge;
   * if (s !== undefined && "held" in s) console.log(s.held, s.acked);
   */
  stats(): Readonly<Record<string, RouteStats>> {
    const out: Record<string, RouteStats> = {};
    for (const r of this.#runners) out[r.spec.name] = r.stats();
    return Object.freeze(out);
  }

  /**
   * The broker's and each route's health: the connection (asked now: a PING, within 1.5 s),
   * each route's state (`starting`, `running`, `stalled`, `recovering`, `draining`, `stopped`,
   * `failed`; see RouteState), its last error, in-flight and held messages, and for JetStream
   * routes the durable's counts as last read (every `withHealthInterval`, default 5 s). `live`
   * is false once the broker failed; `ready` needs the connection up and every route `running`
   * (`notReady` says what is not). Never rejects.
   * @example
   * const h = await broker.health();
   * if (!h.ready) console.warn(h.notReady.join("; "));
   */
  async health(): Promise<BrokerHealth> {
    // Routes and state as of the call; the connection's PING takes a round trip after it.
    const state = this.#state;
    const routes: Record<string, RouteHealth> = {};
    const notReady: string[] = [];
    this.#runners.forEach((runner, i) => {
      const tracker = this.#trackers[i] as RouteTracker;
      const h = tracker.snapshot(runner.spec.kind, runner.probe());
      routes[runner.spec.name] = h;
      if (h.state !== "running") notReady.push(`route "${runner.spec.name}" is ${h.state}`);
    });
    if (this.#runners.length === 0) notReady.push("no route registered");
    const c = await this.#settings.conn.health();
    if (!c.connected) notReady.unshift(`not connected to NATS (${c.server || "no server"})`);
    return Object.freeze({
      state,
      live: state !== "failed",
      ready: notReady.length === 0,
      notReady: Object.freeze(notReady),
      connection: Object.freeze({
        connected: c.connected,
        server: c.server,
        rttMs: c.rttMs,
        serverVersion: c.serverVersion,
        reconnects: c.reconnects,
      }),
      routes: Object.freeze(routes),
    });
  }

  /**
   * The prom-client registry jetroute's metrics are in: the one given to `withMetrics`, or the
   * broker's own. Undefined without `withMetrics`.
   * @example const text = await broker.metricsRegistry()?.metrics();
   */
  metricsRegistry(): Registry | undefined {
    return this.#settings.metricsRegistry;
  }

  /**
   * Where `withHttpEndpoint` listens (`{ host, port, url }`) while `run()` runs; undefined
   * before it listens, after it closed, and without `withHttpEndpoint`.
   */
  httpAddress(): HttpAddress | undefined {
    return this.#settings.httpEndpoint?.address();
  }

  /**
   * Resolves once every route is consuming (consumer ready, subscription open). Rejects with
   * `run`'s error if it fails before that, or with ErrBrokerStopped (`ERR_BROKER_STOPPED`) if
   * the broker was stopped before every route started.
   */
  started(): Promise<void> {
    return this.#started;
  }

  /**
   * Runs every registered route until `signal` aborts (then drains and resolves) or a route
   * fails (then the others drain and it rejects with ErrRouteFailed, `cause` saying why).
   * Rejects with ErrBrokerRunning when called a second time.
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.#ran) throw new ErrBrokerRunning("run() was already called on this broker");
    this.#ran = true;
    const controller = new AbortController();
    // Each route listens on it (and its handlers, through the runtime): many routes are by design.
    setMaxListeners(0, controller.signal);
    const onAbort = () => {
      if (this.#state !== "failed") this.#state = "draining";
      controller.abort(signal?.reason);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (this.#specs.length === 0) {
        throw new ErrInvalidOption("register at least one route before run()");
      }
      if (this.#state === "idle") this.#state = "starting";
      // Synchronously, so health() asked right after run() already says "starting".
      for (const t of this.#trackers) t.enter("starting");
      const attached = await this.#attach().catch((err: unknown) => {
        // No route ran: none is starting any more.
        for (const t of this.#trackers) t.enter("stopped");
        throw err;
      });
      try {
        await this.#runAll(this.#runners, controller);
      } finally {
        await detach(attached, this.#settings.logger);
      }
      this.#state = "stopped";
      // Stopped before every route got going: nothing is consuming, and never will be.
      this.#rejectStarted(new ErrBrokerStopped("the broker stopped before every route started"));
    } catch (err) {
      this.#state = "failed";
      this.#rejectStarted(err);
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Starts the attachments in order; one that cannot start stops those started, then throws. */
  async #attach(): Promise<AttachmentHandle[]> {
    const view: BrokerView = {
      conn: this.#settings.conn,
      logger: this.#settings.logger,
      state: () => this.#state,
      health: () => this.health(),
      stats: () => this.stats(),
      routes: () => this.routes(),
      metricsRegistry: this.#settings.metricsRegistry,
    };
    const started: AttachmentHandle[] = [];
    for (const a of this.#settings.attachments) {
      try {
        started.push(await a.start(view));
      } catch (err) {
        await detach(started, this.#settings.logger);
        throw err;
      }
    }
    return started;
  }

  async #runAll(runners: RouteRunner[], controller: AbortController): Promise<void> {
    const { conn, logger, shutdownTimeoutMs, middleware, producer, healthIntervalMs, instruments } =
      this.#settings;
    let waiting = runners.length;
    let failure: ErrRouteFailed | undefined;
    await Promise.all(
      runners.map(async (runner, i) => {
        const name = runner.spec.name;
        const tracker = this.#trackers[i] as RouteTracker;
        let started = false;
        const draining = () => tracker.enter("draining");
        controller.signal.addEventListener("abort", draining, { once: true });
        const ctx: RouteRunContext = {
          conn,
          signal: controller.signal,
          shutdownTimeoutMs,
          logger: logger.child({ route: name }),
          producer,
          middleware,
          healthIntervalMs,
          observer: observerFor(instruments, runner.spec, logger.child({ route: name })),
          recordError: (err) => tracker.error(err),
          onStarted: () => {
            if (started) return;
            started = true;
            if (!controller.signal.aborted) tracker.enter("running");
            if (--waiting === 0) {
              if (this.#state === "starting") this.#state = "running";
              this.#resolveStarted();
            }
          },
        };
        try {
          await runner.run(ctx);
          tracker.enter("stopped");
        } catch (cause) {
          tracker.error(cause);
          tracker.enter("failed");
          if (failure === undefined) {
            failure = new ErrRouteFailed(name, { cause });
            logger.error({ route: name, err: cause }, "route failed; stopping the broker");
            this.#state = "failed";
            controller.abort(failure);
          }
        } finally {
          controller.signal.removeEventListener("abort", draining);
        }
      }),
    );
    if (failure !== undefined) throw failure;
  }
}

/** Stops started attachments, last first; a failing stop is logged, never thrown. */
async function detach(handles: readonly AttachmentHandle[], logger: Logger): Promise<void> {
  for (const h of [...handles].reverse()) {
    await h.stop().catch((err: unknown) => logger.warn({ err }, "broker attachment did not stop"));
  }
}
