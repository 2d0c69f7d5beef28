import { setTimeout as sleep } from "node:timers/promises";
import type {
  ConsumerMessages,
  ConsumerNotification,
  JetStreamManager,
  JsMsg,
} from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/nats-core";
import { match } from "ts-pattern";
import type { RouteRunContext, RouteRunner } from "../broker/types.js";
import {
  causeText,
  ErrConnectionClosed,
  ErrConsumerLost,
  ErrorCode,
  ErrShutdownTimeout,
  ErrStreamRecreated,
  isJetrouteError,
} from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import { fromJsMsg } from "../message/index.js";
import { buildPipeline, invoke } from "../router/index.js";
import type { Context, Handler, JetStreamRouteSpec, Message } from "../router/types.js";
import { deadLetter, supportsTermReason } from "./dead-letter.js";
import { type Delivery, deliveryOf } from "./delivery.js";
import {
  isConsumerNotFound,
  isStreamNotFound,
  provisionConsumer,
  requireDLQStream,
  requireStream,
  streamNotFound,
} from "./provision.js";
import { type RecoveryPlan, recoveryPlan, type StreamIdentity } from "./recovery.js";
import { SeqRanges } from "./seq-ranges.js";
import { backoffDelay, decideSettlement, type Settlement } from "./settle.js";
import { type JetStreamRouteStats, StatsCounter } from "./stats.js";

/**
 * After the shutdown grace period has aborted their signals, how long handlers that ignore the
 * signal are still awaited before the engine gives up on them (their messages are left unacked
 * and the server redelivers them after ack wait). Without it one stuck handler would hang
 * shutdown forever.
 */
export const ABANDON_AFTER_MS = 5_000;

/**
 * Server heartbeat interval on pull requests. nats.js reports `heartbeats_missed` after two,
 * then checks the consumer and reports `consumer_not_found` if it is gone. Its default (half of
 * the 30 s pull expiry) would leave a route whose consumer was deleted between pulls silently
 * stalled for 30 s; at 2 s it notices in about 4 s, for one tiny message every 2 s while idle.
 */
export const IDLE_HEARTBEAT_MS = 2_000;

/**
 * How often, while messages are being settled, the engine reads the consumer's ack floor. A
 * lost consumer is recreated from the last floor seen, so this bounds how much is redelivered
 * after a deletion (messages this engine settled are then acked again without running their
 * handler, so the cost is a redelivery, not a second run). One consumer-info request per route
 * per interval, and none while the route is idle.
 */
export const FLOOR_REFRESH_MS = 2_000;

/** Consumer-info requests before releasing held messages at shutdown; see `#releaseHeld`. */
const RELEASE_INFO_ATTEMPTS = 5;

/** A JetStream route runner; `stats()` reads its counters at any time, during or after a run. */
export interface JetStreamRouteRunner extends RouteRunner {
  readonly spec: JetStreamRouteSpec;
  stats(): JetStreamRouteStats;
}

/**
 * The runner of a JetStream route: provisions the durable pull consumer, consumes with at most
 * `concurrency` handlers and `concurrency + prefetch` messages held (plus up to `concurrency`
 * whose dead letter is being stored), settles each message from
 * its handler's result (ack, nak with backoff, dead-letter), recreates a lost consumer, and
 * drains on shutdown. Used by the Broker for routes of kind "jetstream".
 * @example
 * const runner = jetStreamRunner(buildRouteSpec(route("charge", handler, withStream("ORDERS"))) as JetStreamRouteSpec);
 * await runner.run(ctx);
 */
export function jetStreamRunner(spec: JetStreamRouteSpec): JetStreamRouteRunner {
  const counter = new StatsCounter();
  // Settled sequences and the ack floor outlive one run: a second run of the same runner
  // still skips replays of what it settled.
  const settled = new SeqRanges();
  return Object.freeze({
    spec,
    stats: () => counter.snapshot(),
    run: (ctx: RouteRunContext) => new JetStreamEngine(spec, ctx, counter, settled).run(),
  });
}

/** One message handed to a worker. */
interface Job {
  readonly m: JsMsg;
  readonly seq: number;
  readonly deliveryCount: number;
  /** When the handler started (`Date.now()`); the keep-alive sweep reads it. */
  readonly startedAt: number;
  /** Shutdown gave up waiting: the result, if it ever comes, is not applied. */
  abandoned: boolean;
  /** Its handler is done and its worker free; the settlement (a dead letter) may still run. */
  released: boolean;
  /** Settles when the job has run and its outcome was applied. */
  done: Promise<void> | undefined;
}

class JetStreamEngine {
  readonly #spec: JetStreamRouteSpec;
  readonly #ctx: RouteRunContext;
  readonly #log: Logger;
  readonly #pipeline: Handler;
  /** Handlers see this signal; it aborts when the shutdown grace period ends. */
  readonly #grace = new AbortController();
  /** Jobs by stream sequence, from handler start to settlement: one per message at a time. */
  readonly #jobs = new Map<number, Job>();
  /** Jobs whose handler is running: the workers in use. */
  #busy = 0;
  readonly #termWithReason: boolean;
  readonly #stats: StatsCounter;
  /** Stream sequences this engine acked or terminated above `#floor`. */
  readonly #settled: SeqRanges;
  /** Aborted on halt or failure: ends the waits between consumer re-creation attempts. */
  readonly #stop = new AbortController();
  /** The highest ack floor seen on the consumer: every sequence at or below it is acked. */
  #floor = 0;
  /** The stream being consumed, to tell it from a new stream of the same name. */
  #stream: StreamIdentity | undefined;
  /** Something was settled since the floor was last read. */
  #settledSinceRefresh = false;
  #refreshing: Promise<void> | undefined;
  /** A consumer-info request after a "no responders" pull, and when the last one began. */
  #probing: Promise<void> | undefined;
  #probedAt = 0;
  #wake: (() => void) | undefined;
  #messages: ConsumerMessages | undefined;
  /** Messages yielded after the session began to stop, released by `#releaseHeld`. */
  readonly #held: JsMsg[] = [];
  /** Messages taken from `#messages`' iterator; reset per consume cycle. */
  #taken = 0;
  /** `#messages` was told to stop pulling (drain started); reset per consume cycle. */
  #pullStopped = false;
  #stopping = false;
  #failed = false;
  #fatal: unknown;
  /** The current consume cycle lost its consumer and will be recreated. */
  #lost = false;
  #started = false;

  constructor(
    spec: JetStreamRouteSpec,
    ctx: RouteRunContext,
    stats: StatsCounter,
    settled: SeqRanges,
  ) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#stats = stats;
    this.#settled = settled;
    stats.probe = () => ({
      inFlight: this.#jobs.size,
      // Delivered into the nats.js buffer minus taken from it (getPending() also counts the
      // pull callbacks queued in the iterator).
      buffered:
        this.#held.length +
        (this.#messages === undefined ? 0 : this.#messages.getReceived() - this.#taken),
      ackFloor: this.#floor,
    });
    this.#log = ctx.logger;
    this.#pipeline = buildPipeline(spec, ctx.middleware);
    this.#termWithReason = supportsTermReason(ctx.conn.serverVersion());
  }

  get #halting(): boolean {
    return this.#stopping || this.#failed;
  }

  async run(): Promise<void> {
    const onAbort = () => this.#halt();
    this.#ctx.signal.addEventListener("abort", onAbort, { once: true });
    // Lives through the drain too: handlers in their grace period still need in-progress acks.
    const keepAlive = this.#keepAlive();
    try {
      if (!this.#ctx.signal.aborted) await this.#serve();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#ctx.signal.removeEventListener("abort", onAbort);
      await this.#drain();
      clearInterval(keepAlive);
    }
    if (this.#failed) throw this.#fatal;
  }

  async #serve(): Promise<void> {
    const jsm = await this.#ctx.conn.jetstreamManager();
    this.#stream = await requireStream(jsm, this.#spec);
    await requireDLQStream(jsm, this.#spec);
    const { ackFloor } = await provisionConsumer(jsm, this.#spec, this.#log);
    this.#raiseFloor(ackFloor);
    const refresher = setInterval(() => this.#refreshFloor(jsm), FLOOR_REFRESH_MS);
    try {
      while (!this.#halting) {
        await this.#consumeOnce(jsm);
        if (this.#lost && !this.#halting) await this.#recreate(jsm);
      }
    } finally {
      clearInterval(refresher);
      await this.#refreshing;
      await this.#probing;
    }
  }

  /** Reads the consumer's ack floor when something was settled since the last read. */
  #refreshFloor(jsm: JetStreamManager): void {
    if (this.#refreshing !== undefined || !this.#settledSinceRefresh || this.#lost) return;
    this.#settledSinceRefresh = false;
    const { stream, durable } = this.#spec;
    this.#refreshing = jsm.consumers
      .info(stream, durable)
      .then(async (info) => {
        const floor = info.ack_floor.stream_seq;
        // Below ours: someone else recreated the consumer, maybe on a new stream.
        if (floor < this.#floor) await this.#checkStream(jsm);
        this.#raiseFloor(floor);
      })
      .catch((err: unknown) => {
        // A missing consumer is the status watcher's business; anything else is retried at
        // the next tick.
        if (!isConsumerNotFound(err)) this.#log.debug({ err }, "could not read the ack floor");
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
  }

  #raiseFloor(floor: number): void {
    if (floor <= this.#floor) return;
    this.#floor = floor;
    this.#settled.dropThrough(floor);
  }

  /**
   * True for a sequence at or below the consumer's ack floor (acked by whichever instance) or
   * settled by this engine above it. nats-server 2.9 can send such a message again (a recreated
   * consumer's replay, a redelivery whose ack was lost, or its pull-request rollback that
   * re-sends the last delivered message), and its handler must not run twice.
   */
  #alreadySettled(seq: number): boolean {
    return seq <= this.#floor || this.#settled.has(seq);
  }

  #markSettled(seq: number): void {
    if (seq <= this.#floor) return;
    this.#settled.add(seq);
    this.#settledSinceRefresh = true;
  }

  /** One `consume()` session; ends at shutdown, on a fatal error, or when the consumer is lost. */
  async #consumeOnce(jsm: JetStreamManager): Promise<void> {
    const { stream, durable, prefetch } = this.#spec;
    this.#lost = false;
    this.#pullStopped = false;
    this.#taken = 0;
    const consumer = await this.#ctx.conn.jetstream.consumers.get(stream, durable);
    const messages = await consumer.consume({
      max_messages: prefetch,
      idle_heartbeat: IDLE_HEARTBEAT_MS,
    });
    this.#messages = messages;
    const status = messages.status();
    const watching = this.#watch(status);
    if (this.#halting) this.#stopPulling();
    if (!this.#started) {
      this.#started = true;
      this.#ctx.onStarted();
    }
    try {
      await this.#pump(messages);
    } finally {
      this.#messages = undefined;
      messages.stop();
      // nats.js ends status listeners when the stopped iterator drains; stop ours too in case
      // the iterator failed before getting there, so this await cannot hang.
      (status as { stop?: () => void }).stop?.();
      await watching;
      await this.#releaseHeld(jsm);
    }
  }

  /**
   * Naks (bare: redelivered at once to the next consumer) what the drained session yielded
   * without running it.
   *
   * First the server must forget this session's pull requests. nats-server 2.9 has a bug when
   * a nak'd message is next in its redelivery queue and the only waiting pull requests are
   * dead (their inbox unsubscribed): it pops the message off the queue, finds no live request,
   * and "puts it back" by stepping its stream cursor back one. So the nak'd message returns
   * only after ack wait, and the last message it delivered is sent again (even if it was
   * acked). Measured on the 1k-in-flight shutdown: naking right after the drain hit it in
   * every run tried, one info request first in 1 of 8, the loop below in 0 of 16. A
   * consumer-info request makes the server drop waiting requests
   * without interest before it answers (`num_waiting` then counts live ones only); a pull
   * request nats.js published just before the drain may reach the consumer's queue after the
   * info, so it is asked again until `num_waiting` is 0. With no dead requests left the
   * server simply holds the naks for the next pull. When other instances pull from the same
   * durable, their live requests keep `num_waiting` above 0 but also receive the naks, so the
   * bug cannot happen; the few retries (at most ~100 ms) are then spent for nothing.
   *
   * Remaining at-least-once windows: a retry delay expiring during this shutdown.
   */
  async #releaseHeld(jsm: JetStreamManager): Promise<void> {
    const held = this.#held.splice(0);
    if (held.length === 0) return;
    if (!this.#lost) await this.#forgetDeadPulls(jsm);
    for (const m of held) this.#release(m);
  }

  async #forgetDeadPulls(jsm: JetStreamManager): Promise<void> {
    const { stream, durable } = this.#spec;
    for (let attempt = 0; attempt < RELEASE_INFO_ATTEMPTS; attempt++) {
      if (this.#ctx.conn.nats.isClosed()) return;
      try {
        const info = await jsm.consumers.info(stream, durable);
        if (info.num_waiting === 0) return;
      } catch (err) {
        this.#log.debug({ err }, "consumer info before release failed");
        return;
      }
      await sleep(20);
    }
  }

  /**
   * Takes a message only when a worker is free (nats.js's consume-jobs pattern): nats.js sends
   * its next pull request only as its iterator is advanced, so holding back here bounds what is
   * pulled to `concurrency + prefetch`. Once halting, everything the iterator still yields
   * (buffered, or arriving while the subscription drains; see `#stopPulling`) is kept and,
   * once the iterator ends, released with a bare nak (`#releaseHeld`) without running a
   * handler. A message this engine already settled (a replay after its consumer was recreated
   * from an older ack floor, or a redelivery whose ack was lost) is acked again without
   * running its handler a second time.
   */
  async #pump(messages: ConsumerMessages): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    try {
      for (;;) {
        // Checked here first: an async call per message only to find a free slot costs ticks.
        if (!this.#workerFree()) await this.#slotFree();
        const next = await it.next();
        if (next.done) break;
        this.#taken++;
        this.#stats.received++;
        const m = next.value;
        const delivery = deliveryOf(m);
        if (this.#alreadySettled(delivery.seq)) this.#ackReplay(m);
        else if (this.#jobs.has(delivery.seq)) this.#skipRunning(m);
        else if (this.#halting || this.#lost) this.#held.push(m);
        else this.#start(m, delivery);
      }
    } catch (err) {
      if (this.#halting || this.#lost) return;
      const { stream, durable, name } = this.#spec;
      this.#fail(
        new ErrConsumerLost(
          `consuming "${durable}" on stream "${stream}" for route "${name}" failed: ${causeText(err)}`,
          { cause: err },
        ),
      );
      return;
    }
    if (this.#halting || this.#lost) return;
    // The iterator ended by itself: nats.js stops it when the connection closes.
    this.#fail(
      this.#ctx.conn.nats.isClosed()
        ? new ErrConnectionClosed(`connection closed under route "${this.#spec.name}"`)
        : new ErrConsumerLost(`consume of "${this.#spec.durable}" ended unexpectedly`),
    );
  }

  /**
   * A worker is free, and fewer than `concurrency` released jobs are still storing their dead
   * letter: so at most `2 * concurrency + prefetch` messages are held even in a poison flood.
   */
  #workerFree(): boolean {
    const { concurrency } = this.#spec;
    return this.#busy < concurrency && this.#jobs.size < 2 * concurrency;
  }

  async #slotFree(): Promise<void> {
    while (!this.#workerFree() && !this.#halting && !this.#lost) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #ackReplay(m: JsMsg): void {
    this.#stats.replaysSkipped++;
    this.#log.debug({ seq: m.seq }, "already settled; acked again without running the handler");
    try {
      m.ack();
    } catch (err) {
      this.#log.debug({ err, seq: m.seq }, "could not ack a replayed message");
    }
  }

  /**
   * A second copy of a message whose handler is still running (the server re-sent it): the
   * running job settles the sequence, so this copy is neither run nor acked.
   */
  #skipRunning(m: JsMsg): void {
    this.#stats.duplicatesSkipped++;
    this.#log.debug({ seq: m.seq }, "already running; duplicate delivery skipped");
  }

  #release(m: JsMsg): void {
    this.#stats.released++;
    try {
      m.nak();
    } catch (err) {
      // A closed connection: the server redelivers after ack wait anyway.
      this.#log.debug({ err, seq: m.seq }, "could not release buffered message");
    }
  }

  #start(m: JsMsg, { seq, deliveryCount }: Delivery): void {
    const job: Job = {
      m,
      seq,
      deliveryCount,
      startedAt: Date.now(),
      abandoned: false,
      released: false,
      done: undefined,
    };
    this.#jobs.set(seq, job);
    this.#busy++;
    // The worker bound is #slotFree: a message is taken from the iterator only with a worker
    // free, so at most `concurrency` run and nats.js pulls no more than is taken (its
    // consume-jobs pattern). A pool library on top would only count the same jobs again, at a
    // measured 2.5-4 µs of promise hops per message.
    job.done = this.#process(job).then(this.#finish);
  }

  /** `#process` never rejects, so `then` is enough (no `finally` closure per message). */
  readonly #finish = (seq: number): void => {
    const job = this.#jobs.get(seq);
    if (job !== undefined) this.#freeWorker(job);
    this.#jobs.delete(seq);
    this.#notify();
  };

  /** Frees the job's worker (once); its message stays held until `#finish`. */
  #freeWorker(job: Job): void {
    if (job.released) return;
    job.released = true;
    this.#busy--;
    this.#notify();
  }

  /**
   * Runs one message to its settlement and resolves with its sequence. Never rejects: a bad
   * message cannot stop the route.
   */
  async #process(job: Job): Promise<number> {
    const { m, seq, deliveryCount } = job;
    const logger = new LazyChildLogger(this.#log, seq, deliveryCount);
    try {
      const settlement = await this.#handle(m, deliveryCount, logger);
      this.#stats.handled++;
      if (job.abandoned) return seq;
      // The common case skips the matcher and its await: they cost more than the ack itself.
      if (settlement.kind === "ack") {
        this.#ack(m, seq);
      } else {
        // A nak is sent at once; a dead letter waits for the DLQ stream's ack. Neither needs
        // the worker, which a poison flood would otherwise tie up on DLQ round trips.
        this.#freeWorker(job);
        await this.#settle(m, seq, settlement, logger);
      }
    } catch (err) {
      logger.error({ err }, "could not settle message; the server redelivers it after ack wait");
    }
    return seq;
  }

  /** The handler's result as a settlement; an async step of its own only when it must be. */
  #handle(m: JsMsg, deliveryCount: number, logger: Logger): Settlement | Promise<Settlement> {
    const { maxDeliver, name } = this.#spec;
    // The consumer has no server-side max_deliver (see desiredConsumerConfig), so a message
    // whose earlier delivery never settled (process killed mid-handler) is caught here.
    if (maxDeliver !== -1 && deliveryCount > maxDeliver) {
      return {
        kind: "dead-letter",
        reason: `delivered ${deliveryCount} times, past maxDeliver ${maxDeliver}`,
      };
    }
    const msg = fromJsMsg(m);
    const ctx: Context = {
      signal: this.#grace.signal,
      logger,
      route: name,
      producer: this.#ctx.producer,
    };
    return invoke(this.#pipeline, msg, ctx).then((result) => {
      if (result.kind === "error") this.#reportError(result.error, msg, ctx, logger);
      return decideSettlement(result, deliveryCount, this.#spec, logger);
    });
  }

  #reportError(error: unknown, msg: Message, ctx: Context, logger: Logger): void {
    logger.warn({ err: error, policy: this.#spec.errorPolicy }, "handler failed");
    const onError = this.#spec.onError;
    if (onError === undefined) return;
    try {
      onError(error, msg, ctx);
    } catch (err) {
      logger.error({ err }, "onError hook threw");
    }
  }

  /** A nak or a dead letter (acks take the fast path in `#process`). */
  async #settle(
    m: JsMsg,
    seq: number,
    settlement: Exclude<Settlement, { kind: "ack" }>,
    logger: Logger,
  ): Promise<void> {
    const stats = this.#stats;
    await match(settlement)
      .with({ kind: "nak" }, ({ delayMs }) => {
        m.nak(delayMs);
        stats.nakd++;
      })
      .with({ kind: "dead-letter" }, async ({ reason }) => {
        const terminated = await deadLetter(m, reason, {
          conn: this.#ctx.conn,
          spec: this.#spec,
          logger,
          termWithReason: this.#termWithReason,
          retryDelayMs: backoffDelay(this.#spec, m.info.deliveryCount, logger),
        });
        if (terminated) {
          stats.deadLettered++;
          this.#markSettled(seq);
        } else {
          stats.nakd++;
        }
      })
      .exhaustive();
  }

  #ack(m: JsMsg, seq: number): void {
    // Acks are batched per event-loop turn: nats.js writes what is queued when it flushes, so
    // one socket write carries every ack of the turn instead of one write (a syscall) per
    // message, which was the largest cost of a fast route. #drain sends what is left.
    if (this.#acks.push(m) === 1) setImmediate(this.#sendAcks);
    this.#stats.acked++;
    this.#markSettled(seq);
  }

  readonly #acks: JsMsg[] = [];
  readonly #sendAcks = (): void => {
    for (const m of this.#acks.splice(0)) {
      try {
        m.ack();
      } catch (err) {
        // A closed connection: the server redelivers after ack wait.
        this.#log.warn({ err, seq: m.seq }, "could not send an ack");
      }
    }
  };

  /**
   * One timer per route, not one per message: every quarter of the ack wait, each message whose
   * handler has run for at least that long gets an in-progress ack, so a handler is covered by
   * half the ack wait after it starts and every quarter after that, however long it runs.
   */
  #keepAlive(): NodeJS.Timeout {
    const tick = Math.max(1, Math.floor(this.#spec.ackWaitMs / 4));
    return setInterval(() => {
      const due = Date.now() - tick;
      for (const job of this.#jobs.values()) {
        if (!job.abandoned && job.startedAt <= due) this.#working(job.m);
      }
    }, tick);
  }

  #working(m: JsMsg): void {
    try {
      m.working();
    } catch (err) {
      this.#log.debug({ err, seq: m.seq }, "could not send in-progress");
    }
  }

  #watch(status: AsyncIterable<ConsumerNotification>): Promise<void> {
    return (async () => {
      for await (const s of status) this.#onStatus(s);
    })().catch((err: unknown) => this.#log.warn({ err }, "consumer status watch ended"));
  }

  #onStatus(s: ConsumerNotification): void {
    switch (s.type) {
      case "consumer_deleted":
      case "consumer_not_found":
        this.#consumerGone(s.type);
        return;
      case "stream_not_found":
        this.#fail(streamNotFound(this.#spec));
        return;
      case "heartbeats_missed":
        // Expected while every worker is busy: the engine holds back the next pull on purpose,
        // so no request is open for the server to heartbeat on.
        if (!this.#workerFree()) {
          this.#log.debug({ count: s.count }, "heartbeats missed while workers are busy");
        } else {
          this.#log.warn({ count: s.count }, "consumer heartbeats missed; nats.js re-pulls");
        }
        return;
      case "no_responders":
        this.#probeConsumer();
        return;
      case "exceeded_limits":
        this.#log.warn({ status: s }, "consumer pull not served");
        return;
      default:
        return;
    }
  }

  #consumerGone(status: string): void {
    const { stream, durable, name, onConsumerLost } = this.#spec;
    if (onConsumerLost === "fail") {
      this.#fail(
        new ErrConsumerLost(
          `consumer "${durable}" on stream "${stream}" of route "${name}" is gone (${status})`,
        ),
      );
    } else if (!this.#lost && !this.#halting) {
      this.#log.warn({ status, stream, durable }, "consumer lost; recreating it");
      this.#lost = true;
      this.#stopPulling();
      this.#notify();
    }
  }

  /**
   * A pull answered "no responders": on 2.15 that is what a consumer deleted while no pull was
   * open (so no "consumer deleted" was sent) answers, and nats.js re-pulls at once, forever,
   * never reporting it gone. Asks the server, at most once per heartbeat interval.
   */
  #probeConsumer(): void {
    const now = Date.now();
    if (this.#probing !== undefined || now - this.#probedAt < IDLE_HEARTBEAT_MS) return;
    this.#probedAt = now;
    const { stream, durable } = this.#spec;
    this.#probing = this.#ctx.conn
      .jetstreamManager()
      .then((jsm) => jsm.consumers.info(stream, durable))
      .then(
        () => this.#log.warn({ status: "no_responders" }, "consumer pull not served"),
        (err: unknown) => {
          if (isConsumerNotFound(err)) this.#consumerGone("no_responders");
          else if (isStreamNotFound(err)) this.#fail(streamNotFound(this.#spec, err));
          else this.#log.debug({ err }, "could not read the consumer after no responders");
        },
      )
      .finally(() => {
        this.#probing = undefined;
      });
  }

  /**
   * Re-provisions a lost consumer, retrying transient failures until shutdown. It starts after
   * the last ack floor seen rather than at the stream's first message: everything at or below
   * a past floor was acked for good, so nothing unsettled is skipped (messages in flight when
   * the consumer vanished, nak'd ones waiting out a retry delay, and ones another instance
   * held are all above it). What lies between that floor and the last settlement is
   * redelivered; what this engine settled there is acked again without running its handler
   * (see #pump); what another instance on the same durable settled there runs again
   * (at-least-once).
   */
  async #recreate(jsm: JetStreamManager): Promise<void> {
    for (let attempt = 1; !this.#halting; attempt++) {
      try {
        const plan = await this.#checkStream(jsm);
        if (plan === undefined) return;
        const { deliver } = plan;
        const { result, ackFloor } = await provisionConsumer(jsm, this.#spec, this.#log, deliver);
        this.#raiseFloor(ackFloor);
        const { durable } = this.#spec;
        if (result === "created") {
          this.#stats.consumerRecreated++;
          this.#log.warn({ durable, deliver }, "consumer recreated");
        } else {
          // Another instance on the durable recreated it first; nothing was recreated here.
          this.#log.debug({ durable, result }, "consumer found intact");
        }
        return;
      } catch (err) {
        if (isJetrouteError(err, ErrorCode.StreamNotFound)) throw err;
        this.#log.warn({ err, attempt }, "could not recreate consumer; retrying");
        await sleep(Math.min(250 * attempt, 5_000), undefined, {
          signal: this.#stop.signal,
        }).catch(() => {});
      }
    }
  }

  /**
   * Reads the stream and, if it is a new stream of the same name (see `recoveryPlan`), forgets
   * the old one's ack floor and settled sequences, so its restarted sequences are not taken for
   * replays and skipped; then consumes it ("consume": warns, counts `streamsRecreated`) or
   * fails the route with ErrStreamRecreated. Handlers still running on the old stream's
   * messages are abandoned: their acks would reach the new consumer with the old sequences.
   * Returns how to recreate the consumer; undefined when the route failed.
   */
  async #checkStream(jsm: JetStreamManager): Promise<RecoveryPlan | undefined> {
    const now = await requireStream(jsm, this.#spec);
    const before = this.#stream ?? now;
    const plan = recoveryPlan(before, now, this.#floor);
    if (!plan.streamRecreated) return plan;
    const { stream, name, onStreamRecreated } = this.#spec;
    const info = {
      stream,
      created: now.created,
      previousCreated: before.created,
      floor: this.#floor,
    };
    this.#stream = now;
    this.#floor = 0;
    this.#settled.dropThrough(Number.MAX_SAFE_INTEGER);
    for (const job of this.#jobs.values()) job.abandoned = true;
    if (onStreamRecreated === "fail") {
      this.#fail(new ErrStreamRecreated(name, stream, before.created, now.created));
      return undefined;
    }
    this.#stats.streamsRecreated++;
    this.#log.warn(info, "stream created again; consuming it from its first message");
    return plan;
  }

  /**
   * Stops the current consume session without losing what the server is sending.
   *
   * nats.js's `stop()` unsubscribes the pull inbox at once, but the server keeps the open pull
   * request until it is filled or expires (30 s). Whatever the server put on the wire before
   * it processed the UNSUB reaches a client with no subscription and is dropped: the server
   * counts it as delivered, so it comes back only after ack wait (and may then land in the
   * next run). Draining the subscription instead sends the UNSUB and a PING and keeps
   * delivering until the PONG: the server handles both in order, so everything it sent to the
   * inbox arrives before the drain completes, reaches the iterator, and is released by #pump.
   * Once the UNSUB is processed the server skips pull requests without interest (it checks the
   * reply subject before each delivery), so the nak'd messages are not sent to the dead inbox
   * either; they wait for the next consumer. nats.js ends the iterator when a drained
   * subscription closes.
   *
   * What remains at-least-once: the server decides a delivery (after checking interest) and
   * routes it a moment later, so a message caught in that gap when the UNSUB lands is dropped
   * by the server; and a connection lost mid-shutdown drops whatever was on the wire. Both come
   * back after ack wait, never lost.
   *
   * nats.js exposes no drain for `consume()`, so this reaches for its subscription; if the
   * field ever disappears it falls back to `stop()` (correct, with the wider window above).
   */
  #stopPulling(): void {
    const messages = this.#messages;
    if (messages === undefined || this.#pullStopped) return;
    this.#pullStopped = true;
    const sub = (messages as unknown as { sub?: Subscription }).sub;
    if (
      sub === undefined ||
      typeof sub.drain !== "function" ||
      sub.isClosed() ||
      this.#ctx.conn.nats.isClosed()
    ) {
      messages.stop();
      return;
    }
    sub.drain().catch((err: unknown) => {
      this.#log.debug({ err }, "could not drain the pull subscription; stopping it");
      messages.stop();
    });
  }

  #halt(): void {
    this.#stopping = true;
    this.#stop.abort();
    this.#stopPulling();
    this.#notify();
  }

  #fail(err: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#fatal = err;
      this.#log.error({ err }, "route failed; draining");
    }
    this.#stop.abort();
    this.#stopPulling();
    this.#notify();
  }

  /**
   * In-flight handlers get `shutdownTimeoutMs`; then their signal aborts with
   * ErrShutdownTimeout; handlers that ignore it are abandoned after {@link ABANDON_AFTER_MS}.
   * Finally the connection is flushed so the last acks reach the server before run resolves.
   */
  async #drain(): Promise<void> {
    this.#stopping = true;
    const { shutdownTimeoutMs } = this.#ctx;
    if (this.#jobs.size > 0 && !(await this.#jobsDoneWithin(shutdownTimeoutMs))) {
      this.#grace.abort(
        new ErrShutdownTimeout(
          `route "${this.#spec.name}": handlers still running after ${shutdownTimeoutMs} ms`,
        ),
      );
      if (!(await this.#jobsDoneWithin(ABANDON_AFTER_MS))) this.#abandonAll();
    }
    this.#sendAcks();
    const nc = this.#ctx.conn.nats;
    if (!nc.isClosed()) {
      await nc.flush().catch((err: unknown) => this.#log.warn({ err }, "flush after drain failed"));
    }
  }

  async #jobsDoneWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      const all = Promise.all([...this.#jobs.values()].map((j) => j.done)).then(
        () => true as const,
      );
      return await Promise.race([all, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  #abandonAll(): void {
    const seqs: number[] = [];
    for (const job of this.#jobs.values()) {
      job.abandoned = true;
      this.#stats.abandoned++;
      seqs.push(job.seq);
    }
    this.#log.error(
      { seqs },
      "handlers ignored the shutdown signal; abandoned (redelivered after ack wait)",
    );
  }
}

/**
 * A child logger made on first use. pino's `child()` serializes its bindings and costs more
 * than a noop handler; most messages never log, so each message's logger is made only if used.
 */
class LazyChildLogger implements Logger {
  readonly #parent: Logger;
  readonly #seq: number;
  readonly #deliveryCount: number;
  #child: Logger | undefined;

  constructor(parent: Logger, seq: number, deliveryCount: number) {
    this.#parent = parent;
    this.#seq = seq;
    this.#deliveryCount = deliveryCount;
  }

  get #log(): Logger {
    this.#child ??= this.#parent.child({ seq: this.#seq, deliveryCount: this.#deliveryCount });
    return this.#child;
  }

  debug(obj: object, msg?: string): void {
    this.#log.debug(obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#log.info(obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#log.warn(obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.#log.error(obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return this.#log.child(bindings);
  }
}
