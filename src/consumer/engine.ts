import { setMaxListeners } from "node:events";
import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import type { Msg } from "@nats-io/nats-core";
import type { RouteRunContext } from "../broker/types.js";
import { ErrConnectionClosed } from "../errors/index.js";
import { InboxGate } from "../inbox/gate.js";
import type { Logger } from "../logger/index.js";
import { fromJetStream } from "../message/index.js";
import type { MessageObservation } from "../observe/index.js";
import type { Context, JetStreamRouteSpec, Message } from "../router/types.js";
import { type HandlerResult, handlerRuntime, type InlineHandlerRuntime } from "../runtime/index.js";
import { Admission } from "./admission.js";
import { supportsTermReason } from "./dead-letter.js";
import { parseAckSubject } from "./delivery.js";
import { HeldMessages } from "./held.js";
import { Inbound } from "./inbound.js";
import { inboxSettlement } from "./inbox.js";
import { startKeepAlive } from "./keep-alive.js";
import { startLagPoll } from "./lag.js";
import { drainHandlers, type EngineState } from "./lifecycle.js";
import { LazyChildLogger } from "./message-logger.js";
import { observed, observeSettlement } from "./observed.js";
import { type PullLimits, provisionConsumer } from "./provision.js";
import { PullSession, pullSettingsFor } from "./pull.js";
import { forgetDeadPulls, recreateConsumer, startFloorRefresh } from "./recover.js";
import type { ReplayGuard } from "./replay-guard.js";
import { DurableIdentity, rewindGuard } from "./rewind.js";
import { claimDurable } from "./running.js";
import { beforeRun, decideSettlement, type Settlement } from "./settle.js";
import { Settler } from "./settler.js";
import type { StatsCounter } from "./stats.js";
import { requireDLQStream } from "./stream-checks.js";
import { StreamWatch } from "./stream-watch.js";
import { PullSupervisor } from "./supervisor.js";

/**
 * One run of a route. The data path, top to bottom: `#consume` opens a pull session ->
 * `#admit` takes each delivery (Admission: replays, copies, redrives for others) ->
 * `#dispatch` gives it a worker -> `#run` runs middleware and handler -> `decideSettlement`
 * -> `Settler` acks, naks, releases or dead-letters.
 */
export class JetStreamEngine {
  readonly #spec: JetStreamRouteSpec;
  readonly #ctx: RouteRunContext;
  readonly #log: Logger;
  readonly #stats: StatsCounter;
  readonly #guard: ReplayGuard;
  readonly #runtime: InlineHandlerRuntime;
  readonly #held: HeldMessages;
  readonly #settler: Settler;
  /** Handlers see this signal; it aborts when the shutdown grace period ends. */
  readonly #grace = new AbortController();
  /** Aborted when the run leaves `consuming` for good: ends waits (recreate back-off). */
  readonly #stop = new AbortController();
  #state: EngineState = { kind: "starting" };
  #session: PullSession | undefined;
  /** Called whenever a handler or dead letter finishes, while the drain waits for them. */
  #idle: (() => void) | undefined;
  readonly #streamWatch: StreamWatch;
  #onChange: (() => void) | undefined;
  readonly #supervisor: PullSupervisor;
  readonly #admission: Admission;
  /** The durable as last seen, to tell a rewind (resetDurable) from an accidental re-creation. */
  readonly #identity = new DurableIdentity();
  /** withInbox: runs each key's handler at most once (undefined without an inbox). */
  readonly #inbox: InboxGate | undefined;

  constructor(
    spec: JetStreamRouteSpec,
    ctx: RouteRunContext,
    stats: StatsCounter,
    guard: ReplayGuard,
  ) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#stats = stats;
    this.#guard = guard;
    this.#log = ctx.logger;
    this.#runtime = handlerRuntime(spec, ctx.middleware, ctx.logger, ctx.recordError);
    this.#inbox =
      spec.inbox === undefined || stats.inbox === undefined
        ? undefined
        : new InboxGate(spec, spec.inbox, stats.inbox, ctx.logger);
    this.#held = new HeldMessages(spec.concurrency, spec.prefetch);
    // Every running handler (and the timeout middleware) listens on this one signal.
    setMaxListeners(0, this.#grace.signal);
    this.#settler = new Settler({
      conn: ctx.conn,
      spec,
      stats,
      guard,
      termWithReason: supportsTermReason(ctx.conn.serverVersion()),
      log: this.#log,
      fail: (err) => this.#fail(err),
    });
    this.#supervisor = new PullSupervisor(ctx.conn, spec, this.#log, {
      lost: () => {
        if (this.#state.kind === "consuming") this.#enter({ kind: "recovering" });
      },
      recover: () => this.#enter({ kind: "recovering" }),
      fail: (err) => this.#fail(err),
    });
    this.#admission = new Admission({
      spec,
      guard,
      held: this.#held,
      stats,
      log: this.#log,
      readConsumer: async () => {
        const jsm = await ctx.conn.jetstreamManager();
        return jsm.consumers.info(spec.stream, spec.durable);
      },
      identity: this.#identity,
      dispatch: () => this.#dispatch(),
    });
    this.#streamWatch = new StreamWatch(spec, {
      guard,
      stats,
      log: this.#log,
      abandonWorking: () => this.#held.abandonWorking().length,
      fail: (err) => this.#fail(err),
    });
    stats.probe = () => ({
      inFlight: this.#held.running + this.#held.settling,
      buffered: this.#held.buffered,
      ackFloor: this.#guard.floor,
      condition: this.#condition(),
    });
  }

  async run(): Promise<void> {
    const onAbort = () => this.#enter({ kind: "draining" });
    this.#ctx.signal.addEventListener("abort", onAbort, { once: true });
    // Lives through the drain: buffered messages and handlers in their grace period need it.
    const stopKeepAlive = startKeepAlive(this.#spec.ackWaitMs, () => this.#held.values());
    // resetDurable refuses to rewind a durable a route of this process is consuming.
    const release = claimDurable(this.#spec.stream, this.#spec.durable);
    // Nothing of the engine's ends when the connection closes under it: watch for that.
    void this.#ctx.conn.nats.closed().then(() => {
      if (this.#state.kind === "draining") return;
      this.#fail(new ErrConnectionClosed(`connection closed under route "${this.#spec.name}"`));
    });
    try {
      if (!this.#ctx.signal.aborted) await this.#serve();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#ctx.signal.removeEventListener("abort", onAbort);
      await this.#drain();
      await this.#inbox?.close();
      stopKeepAlive();
      release();
    }
    if (this.#state.kind === "failed") throw this.#state.error;
  }

  async #serve(): Promise<void> {
    const jsm = await this.#ctx.conn.jetstreamManager();
    await this.#streamWatch.start(jsm);
    await requireDLQStream(jsm, this.#spec);
    await this.#inbox?.open(this.#ctx.conn, this.#stop.signal);
    const provisioned = await provisionConsumer(jsm, this.#spec, this.#provisionContext());
    this.#guard.raiseFloor(provisioned.ackFloor);
    const fell = () => this.#streamWatch.check(jsm);
    const stopFloor = startFloorRefresh(jsm, this.#spec, {
      guard: this.#guard,
      activity: () => this.#stats.received + this.#stats.acked + this.#stats.deadLettered,
      fell,
      audit: { ...this.#provisionContext(), stream: provisioned.stream },
      identity: this.#identity,
      fail: (err) => this.#fail(err),
      log: this.#log,
    });
    const stopLag = startLagPoll(
      jsm,
      this.#spec,
      this.#ctx.healthIntervalMs,
      (lag) => {
        this.#stats.lag = lag;
      },
      this.#log,
    );
    try {
      let limits = provisioned.limits;
      while (!this.#stop.signal.aborted) {
        await this.#consume(jsm, limits);
        if (this.#state.kind !== "recovering") continue;
        limits =
          (await recreateConsumer(jsm, this.#spec, fell, this.#provisionContext())) ?? limits;
      }
    } finally {
      await Promise.all([stopFloor(), stopLag()]);
    }
  }

  /** What (re-)provisioning the durable needs. */
  #provisionContext() {
    const { logger, conn } = this.#ctx;
    return {
      stats: this.#stats,
      logger,
      server: conn.serverVersion(),
      signal: this.#stop.signal,
      seen: (info: ConsumerInfo) => {
        const floor = info.ack_floor.stream_seq;
        if (this.#identity.observe(info, this.#guard.floor)) {
          rewindGuard(this.#guard, floor, this.#log);
        }
      },
    };
  }

  /** One pull session: ends at shutdown, on a fatal error, or when the consumer is lost. */
  async #consume(jsm: JetStreamManager, limits: PullLimits): Promise<void> {
    const session = new PullSession(
      this.#ctx.conn.nats,
      pullSettingsFor(this.#spec, limits),
      {
        room: () => (this.#state.kind === "consuming" ? this.#held.room() : 0),
        deliver: (msg, receivedAt) => this.#admit(msg, receivedAt),
        event: (e) => this.#supervisor.onPullEvent(e),
      },
      this.#log,
    );
    this.#session = session;
    this.#enter({ kind: "consuming" });
    session.start();
    this.#ctx.onStarted(); // the broker counts only the first call
    await new Promise<void>((resolve) => {
      this.#onChange = () => {
        if (this.#state.kind !== "consuming") resolve();
      };
      this.#onChange();
    });
    this.#onChange = undefined;
    // What the server already sent still arrives (and is held, not run) before this resolves.
    await session.drain();
    session.close();
    this.#session = undefined;
    // Before any release (now, or a handler interrupted later in the drain) the server must
    // forget this session's pull: nats-server 2.9 steps its cursor back otherwise.
    if (this.#state.kind !== "recovering") {
      await forgetDeadPulls(jsm, this.#ctx.conn.nats, this.#spec, this.#log);
    }
    for (const m of this.#held.takeBuffered()) this.#settler.release(m);
  }

  /**
   * For health(): `recovering` while re-provisioning; `stalled` when the open pull missed two
   * heartbeats although a worker is free (with every worker busy no pull is expected to be open).
   */
  #condition(): "ok" | "stalled" | "recovering" {
    if (this.#state.kind === "recovering") return "recovering";
    const beats = this.#session?.silentBeats ?? 0;
    return beats >= 2 && this.#held.running < this.#spec.concurrency ? "stalled" : "ok";
  }

  #enter(next: EngineState): void {
    const now = this.#state;
    if (now.kind === "failed" || (now.kind === "draining" && next.kind !== "failed")) return;
    this.#state = next;
    if (next.kind === "draining" || next.kind === "failed") this.#stop.abort();
    this.#onChange?.();
  }

  #fail(err: unknown): void {
    if (this.#state.kind === "failed") return;
    this.#log.debug({ err }, "route failed; draining");
    this.#enter({ kind: "failed", error: err });
  }

  /** A delivery from the pull: counted, then admitted (admission.ts) or ignored. */
  #admit(msg: Msg, receivedAt: number): void {
    const delivery = msg.reply ? parseAckSubject(msg.reply) : undefined;
    if (delivery === undefined) {
      this.#log.warn({ subject: msg.subject }, "not a JetStream delivery; ignored");
      return;
    }
    this.#stats.received++;
    this.#supervisor.served();
    this.#admission.admit(new Inbound(msg, delivery, receivedAt), msg);
  }

  #dispatch(): void {
    if (this.#state.kind !== "consuming") return;
    for (let m = this.#held.start(); m !== undefined; m = this.#held.start()) void this.#run(m);
  }

  /**
   * One message from worker to settlement in one async frame: middleware and handler (the
   * shared runtime), the settlement table, the settler. A promise chain per message was a
   * measurable share of a fast route's cost. Never rejects.
   */
  async #run(m: Inbound): Promise<void> {
    const log = new LazyChildLogger(this.#log, m.seq, m.deliveryCount);
    // Metrics, traces: only when an instrument observes the route (no cost per message otherwise).
    let obs: MessageObservation | undefined;
    let failure: unknown;
    try {
      // Begun before the check below, so a message dead-lettered unhandled has its span too.
      obs = this.#ctx.observer?.begin(observed(m));
      let s = beforeRun(this.#spec, m.deliveryCount);
      if (s === undefined) {
        const msg = fromJetStream(m);
        const ctx: Context = {
          signal: this.#grace.signal,
          logger: log,
          route: this.#spec.name,
          producer: this.#ctx.producer,
        };
        const rt = this.#runtime;
        if (this.#inbox !== undefined) {
          ({ failure, s } = await this.#gated(this.#inbox, m, msg, ctx, log, obs));
        } else {
          let result: HandlerResult;
          try {
            const returned =
              obs === undefined
                ? await rt.pipeline(msg, ctx)
                : await obs.within(rt.pipeline, msg, ctx);
            result = rt.returned(returned, msg, ctx);
          } catch (error) {
            result = rt.threw(error, msg, ctx);
          }
          obs?.handled();
          this.#stats.handled++;
          if (result.kind === "error") failure = result.error;
          s = decideSettlement(result, m.deliveryCount, this.#spec, log);
        }
      }
      if (m.phase === "settled") {
        // Abandoned at shutdown: the server redelivers it after ack wait.
        obs?.settled("abandoned");
        return;
      }
      // The DLQ round trip does not need the worker.
      if (s.kind === "dead-letter") this.#freed(m);
      const storing = this.#settler.apply(m, s, log);
      const terminated = storing === undefined ? true : await storing;
      if (obs !== undefined) observeSettlement(obs, s, terminated, failure);
    } catch (err) {
      log.error({ err }, "could not settle; redelivered after ack wait");
      obs?.settled("retried", { error: err });
    } finally {
      this.#finish(m);
    }
  }

  /**
   * The inbox's way to the same place as the plain path: the handler (observed, counted) runs
   * only when the store claims the key for this consumer; its verdict decides the settlement.
   */
  async #gated(
    inbox: InboxGate,
    m: Inbound,
    msg: Message,
    ctx: Context,
    log: Logger,
    obs: MessageObservation | undefined,
  ): Promise<{ s: Settlement; failure: unknown }> {
    const rt = this.#runtime;
    const gated = await inbox.run(msg, ctx, log, async (c) => {
      let result: HandlerResult;
      try {
        const returned =
          obs === undefined ? await rt.pipeline(msg, c) : await obs.within(rt.pipeline, msg, c);
        result = rt.returned(returned, msg, c);
      } catch (error) {
        result = rt.threw(error, msg, c);
      }
      obs?.handled();
      this.#stats.handled++;
      return result;
    });
    if (gated.kind === "bad-key") rt.report(gated.error, msg, ctx);
    const failure =
      gated.kind === "ran" && gated.result.kind === "error"
        ? gated.result.error
        : gated.kind === "bad-key" || gated.kind === "store-failed"
          ? gated.error
          : undefined;
    return { s: inboxSettlement(gated, m.deliveryCount, this.#spec, log), failure };
  }

  #finish(m: Inbound): void {
    this.#held.done(m);
    this.#freed();
    this.#idle?.();
  }

  /** A worker came free (`storing`: its message now only waits for its dead letter). */
  #freed(storing?: Inbound): void {
    if (storing !== undefined) this.#held.toSettling(storing);
    this.#dispatch();
    this.#session?.refill();
  }

  /**
   * In-flight handlers get `shutdownTimeoutMs`; then their signal aborts with
   * ErrShutdownTimeout; handlers that ignore it are abandoned after `PULL.abandonAfterMs` (their
   * messages are redelivered after ack wait). Finally the last acks are flushed.
   */
  async #drain(): Promise<void> {
    this.#enter({ kind: "draining" });
    this.#stats.abandoned += await drainHandlers({
      log: this.#log,
      route: this.#spec.name,
      held: this.#held,
      grace: this.#grace,
      graceMs: this.#ctx.shutdownTimeoutMs,
      onWake: (wake) => {
        this.#idle = wake;
      },
    });
    this.#settler.flush();
    const nc = this.#ctx.conn.nats;
    if (!nc.isClosed()) {
      await nc.flush().catch((err: unknown) => this.#log.warn({ err }, "flush after drain failed"));
    }
  }
}
