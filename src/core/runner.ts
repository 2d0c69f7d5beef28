import { setMaxListeners } from "node:events";
import type { Msg, Subscription } from "@nats-io/nats-core";
import type { RouteRunContext, RouteRunner } from "../broker/types.js";
import { ErrConnectionClosed, ErrShutdownTimeout } from "../errors/index.js";
import type { FanOutRouteSpec, QueueRouteSpec, RequestRouteSpec } from "../router/types.js";
import { handlerRuntime } from "../runtime/index.js";
import { errorReply, ReplyCode, sendReply } from "./reply.js";
import { type CoreRouteStats, StatsCounter } from "./stats.js";
import { CoreWorkers } from "./workers.js";

/** The route kinds served over core NATS (no JetStream, no redelivery). */
export type CoreRouteSpec = RequestRouteSpec | QueueRouteSpec | FanOutRouteSpec;

/** A core NATS route runner; `stats()` reads its counters at any time, during or after a run. */
export interface CoreRouteRunner extends RouteRunner {
  readonly spec: CoreRouteSpec;
  stats(): CoreRouteStats;
}

/**
 * Builds the runner the broker uses for "request", "queue" and "fanout" routes.
 *
 * - Subscribes to `spec.subject` (in `spec.queueGroup`, when there is one) and runs at most
 *   `spec.concurrency` handlers at once. Up to `spec.maxPending` more messages wait for a
 *   worker; past that a message is dropped, counted in `stats().dropped` and logged once per
 *   overload episode. A dropped request is answered with a 503 "overloaded" error reply so the
 *   caller does not wait for its timeout.
 * - Request routes answer with the handler's return value (JSON; bytes as they are), or with a
 *   `Nats-Service-Error` / `Nats-Service-Error-Code` error reply and an empty body: `reject()`
 *   uses its code, a thrown ErrDecode 400, any other thrown error 500, `retry()` 503 (core NATS
 *   cannot redeliver). A request without a reply subject is logged, counted and dropped.
 * - Queue and fan-out routes ignore outcomes; thrown errors are logged and passed to `onError`.
 * - A handler that settles after the shutdown grace ended was interrupted, not failed:
 *   logged at info, not passed to `onError`; a request gets a 503 "shutting down".
 * - On `ctx.signal` abort: the subscription is drained (the server sends no more; what it
 *   already sent is still accepted), accepted messages are handled within
 *   `ctx.shutdownTimeoutMs`, then handler signals abort with ErrShutdownTimeout and requests
 *   still unanswered get a 503; replies are flushed and `run` resolves.
 * - `run` rejects when the subscription cannot be made or closes on its own: with the nats.js
 *   error (a permissions violation) or ErrConnectionClosed; the broker wraps it in ErrRouteFailed.
 *
 * @example
 * // What the Broker does for each core route (ctx: the RouteRunContext it builds):
 * const spec = buildRouteSpec(route("echo", async (m) => m.json(), withSubject("echo"), withRequestReply()));
 * if (spec.kind !== "jetstream") await coreRunner(spec).run(ctx);
 */
export function coreRunner(spec: CoreRouteSpec): CoreRouteRunner {
  const counter = new StatsCounter();
  return Object.freeze({
    spec,
    stats: () => counter.snapshot(),
    probe: () => ({
      condition: "ok" as const,
      inFlight: counter.inFlight,
      held: undefined,
      consumer: undefined,
    }),
    run: (ctx: RouteRunContext) => new CoreRun(spec, ctx, counter).run(),
  });
}

/**
 * Where a run is: serving, stopping (the subscription drains, accepted work finishes), or past
 * the shutdown grace (handler signals aborted, every accepted request answered).
 */
type Phase = "serving" | "stopping" | "expired";

/** The state of one `run()`: subscription, admission of messages, and the stop sequence. */
class CoreRun {
  readonly #spec: CoreRouteSpec;
  readonly #ctx: RouteRunContext;
  readonly #stats: StatsCounter;
  readonly #isRequest: boolean;
  readonly #capacity: number;
  /** Aborted with ErrShutdownTimeout when the grace period ends; every handler's ctx.signal. */
  readonly #grace = new AbortController();
  readonly #workers: CoreWorkers;
  #phase: Phase = "serving";
  /** Drops since the last accepted message; logging once per episode keeps a flood quiet. */
  #episodeDrops = 0;

  constructor(spec: CoreRouteSpec, ctx: RouteRunContext, stats: StatsCounter) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#stats = stats;
    this.#isRequest = spec.kind === "request";
    this.#capacity = spec.concurrency + spec.maxPending;
    const runtime = handlerRuntime(spec, ctx.middleware, ctx.logger, ctx.recordError);
    // Every in-flight handler (and the timeout middleware) may listen on this one signal; with
    // concurrency above 10 Node would warn of a leak that is by design.
    setMaxListeners(0, this.#grace.signal);
    const handlerCtx = Object.freeze({
      signal: this.#grace.signal,
      logger: ctx.logger,
      route: spec.name,
      producer: ctx.producer,
    });
    const scope = Object.freeze({ spec, ctx: handlerCtx, stats, runtime, observer: ctx.observer });
    this.#workers = new CoreWorkers(scope, ctx.logger);
  }

  async run(): Promise<void> {
    const { conn, signal, logger } = this.#ctx;
    if (signal.aborted) return;
    let sub: Subscription;
    try {
      const queue = this.#queueGroup();
      sub = conn.nats.subscribe(this.#spec.subject, {
        ...(queue === undefined ? {} : { queue }),
        callback: (err, m) => {
          // Subscription errors also close it; `sub.closed` reports them below.
          if (err === null) this.#onMessage(m);
        },
      });
      // The server answers PING after processing SUB, so a permissions error is in by now.
      await conn.nats.flush();
    } catch (cause) {
      throw this.#failure(cause);
    }
    if (sub.isClosed()) throw this.#failure(await sub.closed);
    this.#ctx.onStarted();
    logger.info(
      { subject: this.#spec.subject, kind: this.#spec.kind, queue: this.#queueGroup() },
      "core route started",
    );

    const stop = await this.#untilStopOrClosed(sub);
    this.#phase = "stopping";
    await this.#shutdown(sub);
    logger.info({ stats: this.#stats.snapshot() }, "core route stopped");
    if (stop.kind === "closed") throw this.#failure(stop.error);
  }

  /**
   * Why the route died, for the broker to wrap in ErrRouteFailed: the NATS error as it came
   * (a permissions violation names the subject), or ErrConnectionClosed when the subscription
   * ended without one.
   */
  #failure(cause: unknown): unknown {
    if (cause instanceof Error) return cause;
    return new ErrConnectionClosed(
      `subscription on "${this.#spec.subject}" closed while the route was running`,
      cause === undefined ? undefined : { cause },
    );
  }

  #queueGroup(): string | undefined {
    return this.#spec.kind === "fanout" ? undefined : this.#spec.queueGroup;
  }

  /** Waits for the broker to stop us, or for the subscription to close under us. */
  async #untilStopOrClosed(
    sub: Subscription,
  ): Promise<{ kind: "stop" } | { kind: "closed"; error: Error | undefined }> {
    const signal = this.#ctx.signal;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        new Promise<{ kind: "stop" }>((resolve) => {
          onAbort = () => resolve({ kind: "stop" });
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
        sub.closed.then((error) => ({ kind: "closed" as const, error: error ?? undefined })),
      ]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  #onMessage(raw: Msg): void {
    this.#stats.received++;
    const log = this.#ctx.logger;
    if (this.#isRequest && !raw.reply) {
      this.#stats.noReply++;
      log.warn({ subject: raw.subject }, "request without a reply subject dropped");
      return;
    }
    if (this.#phase === "expired") {
      // Sent before the drain took effect and arrived after the grace: nothing runs any more.
      if (this.#isRequest) sendReply(raw, errorReply(ReplyCode.Unavailable, "shutting down"));
      return;
    }
    if (this.#workers.accepted >= this.#capacity) {
      this.#stats.dropped++;
      if (this.#episodeDrops++ === 0) {
        log.warn(
          { concurrency: this.#spec.concurrency, maxPending: this.#spec.maxPending },
          "route overloaded: dropping messages until a slot frees",
        );
      }
      if (this.#isRequest) sendReply(raw, errorReply(ReplyCode.Unavailable, "overloaded"));
      return;
    }
    if (this.#episodeDrops > 0) {
      log.warn({ dropped: this.#episodeDrops }, "route accepting messages again");
      this.#episodeDrops = 0;
    }
    this.#workers.accept(raw);
  }

  /** Drain, let accepted work finish within the grace period, answer the rest, flush. */
  async #shutdown(sub: Subscription): Promise<void> {
    const { conn, logger, shutdownTimeoutMs } = this.#ctx;
    const workers = this.#workers;
    const idle = new Promise<void>((resolve) => {
      workers.onIdle = resolve;
    });
    const timer = setTimeout(() => this.#expireGrace(), shutdownTimeoutMs);
    try {
      if (!sub.isClosed()) {
        await sub.drain().catch((err: unknown) => {
          logger.warn({ err }, "subscription drain failed");
        });
      }
      if (workers.accepted > 0) await idle;
    } finally {
      clearTimeout(timer);
      workers.onIdle = undefined;
    }
    if (!conn.nats.isClosed()) {
      await conn.nats.flush().catch((err: unknown) => {
        logger.warn({ err }, "flushing replies failed");
      });
    }
  }

  /** Grace is over: abort handler signals, answer what is left, stop waiting for it. */
  #expireGrace(): void {
    this.#phase = "expired";
    this.#grace.abort(
      new ErrShutdownTimeout(
        `route "${this.#spec.name}" did not finish within ${this.#ctx.shutdownTimeoutMs} ms`,
      ),
    );
    const workers = this.#workers;
    const left = workers.abandon(errorReply(ReplyCode.Unavailable, "shutdown timeout"));
    if (left > 0) {
      this.#stats.abandoned += left;
      this.#ctx.logger.warn(
        { abandoned: left },
        "shutdown grace ended with handlers still running",
      );
    }
    workers.onIdle?.();
  }
}
