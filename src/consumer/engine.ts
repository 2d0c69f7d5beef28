import { setTimeout as sleep } from "node:timers/promises";
import type {
  ConsumerMessages,
  ConsumerNotification,
  JetStreamManager,
  JsMsg,
} from "@nats-io/jetstream";
import pLimit, { type LimitFunction } from "p-limit";
import { match } from "ts-pattern";
import type { RouteRunContext, RouteRunner } from "../broker/types.js";
import {
  causeText,
  ErrConnectionClosed,
  ErrConsumerLost,
  ErrorCode,
  ErrShutdownTimeout,
  isJetrouteError,
} from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import { fromJsMsg } from "../message/index.js";
import { buildPipeline, invoke } from "../router/index.js";
import type { Context, Handler, JetStreamRouteSpec, Message } from "../router/types.js";
import { deadLetter, supportsTermReason } from "./dead-letter.js";
import { provisionConsumer, requireDLQStream, requireStream, streamNotFound } from "./provision.js";
import { backoffDelay, decideSettlement, type Settlement } from "./settle.js";

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
 * The runner of a JetStream route: provisions the durable pull consumer, consumes with at most
 * `concurrency` handlers and `concurrency + prefetch` messages held, settles each message from
 * its handler's result (ack, nak with backoff, dead-letter), recreates a lost consumer, and
 * drains on shutdown. Used by the Broker for routes of kind "jetstream".
 * @example
 * const runner = jetStreamRunner(buildRouteSpec(route("charge", handler, withStream("ORDERS"))) as JetStreamRouteSpec);
 * await runner.run(ctx);
 */
export function jetStreamRunner(spec: JetStreamRouteSpec): RouteRunner {
  return { spec, run: (ctx) => new JetStreamEngine(spec, ctx).run() };
}

/** One message handed to a worker. */
interface Job {
  readonly m: JsMsg;
  /** Sends `working()` so a long handler keeps the message. */
  working: NodeJS.Timeout | undefined;
  /** Shutdown gave up waiting: the result, if it ever comes, is not applied. */
  abandoned: boolean;
}

class JetStreamEngine {
  readonly #spec: JetStreamRouteSpec;
  readonly #ctx: RouteRunContext;
  readonly #log: Logger;
  readonly #pipeline: Handler;
  readonly #limit: LimitFunction;
  /** Handlers see this signal; it aborts when the shutdown grace period ends. */
  readonly #grace = new AbortController();
  readonly #jobs = new Map<Job, Promise<void>>();
  readonly #termWithReason: boolean;
  #busy = 0;
  #wake: (() => void) | undefined;
  #messages: ConsumerMessages | undefined;
  #stopping = false;
  #failed = false;
  #fatal: unknown;
  /** The current consume cycle lost its consumer and will be recreated. */
  #lost = false;
  #started = false;

  constructor(spec: JetStreamRouteSpec, ctx: RouteRunContext) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#log = ctx.logger;
    this.#pipeline = buildPipeline(spec, ctx.middleware);
    this.#limit = pLimit(spec.concurrency);
    this.#termWithReason = supportsTermReason(ctx.conn.serverVersion());
  }

  get #halting(): boolean {
    return this.#stopping || this.#failed;
  }

  async run(): Promise<void> {
    const onAbort = () => this.#halt();
    this.#ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (!this.#ctx.signal.aborted) await this.#serve();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#ctx.signal.removeEventListener("abort", onAbort);
      await this.#drain();
    }
    if (this.#failed) throw this.#fatal;
  }

  async #serve(): Promise<void> {
    const jsm = await this.#ctx.conn.jetstreamManager();
    await requireStream(jsm, this.#spec);
    await requireDLQStream(jsm, this.#spec);
    await provisionConsumer(jsm, this.#spec, this.#log);
    while (!this.#halting) {
      await this.#consumeOnce();
      if (this.#lost && !this.#halting) await this.#recreate(jsm);
    }
  }

  /** One `consume()` session; ends at shutdown, on a fatal error, or when the consumer is lost. */
  async #consumeOnce(): Promise<void> {
    const { stream, durable, prefetch } = this.#spec;
    this.#lost = false;
    const consumer = await this.#ctx.conn.jetstream.consumers.get(stream, durable);
    const messages = await consumer.consume({
      max_messages: prefetch,
      idle_heartbeat: IDLE_HEARTBEAT_MS,
    });
    this.#messages = messages;
    const status = messages.status();
    const watching = this.#watch(status, messages);
    if (this.#halting) messages.stop();
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
    }
  }

  /**
   * Takes a message only when a worker is free (nats.js's consume-jobs pattern): nats.js sends
   * its next pull request only as its iterator is advanced, so holding back here bounds what is
   * pulled to `concurrency + prefetch`. Once halting, what is still buffered is released with a
   * bare nak (redelivered at once to whoever consumes next) without running a handler.
   */
  async #pump(messages: ConsumerMessages): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    try {
      for (;;) {
        await this.#slotFree();
        const next = await it.next();
        if (next.done) break;
        if (this.#halting || this.#lost) this.#release(next.value);
        else this.#start(next.value);
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

  async #slotFree(): Promise<void> {
    while (this.#busy >= this.#spec.concurrency && !this.#halting && !this.#lost) {
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

  #release(m: JsMsg): void {
    try {
      m.nak();
    } catch (err) {
      // A closed connection: the server redelivers after ack wait anyway.
      this.#log.debug({ err, seq: m.seq }, "could not release buffered message");
    }
  }

  #start(m: JsMsg): void {
    const job: Job = { m, working: undefined, abandoned: false };
    this.#busy++;
    const done = this.#limit(() => this.#process(job)).finally(() => {
      this.#jobs.delete(job);
      this.#busy--;
      this.#notify();
    });
    this.#jobs.set(job, done);
  }

  /** Runs one message to its settlement. Never rejects: a bad message cannot stop the route. */
  async #process(job: Job): Promise<void> {
    const { m } = job;
    const deliveryCount = m.info.deliveryCount;
    const logger = this.#log.child({ seq: m.seq, deliveryCount });
    const every = Math.max(1, Math.floor(this.#spec.ackWaitMs / 2));
    job.working = setInterval(() => this.#working(m), every);
    try {
      const settlement = await this.#handle(m, deliveryCount, logger);
      if (job.abandoned) return;
      await this.#settle(m, settlement, logger);
    } catch (err) {
      logger.error({ err }, "could not settle message; the server redelivers it after ack wait");
    } finally {
      clearInterval(job.working);
      job.working = undefined;
    }
  }

  async #handle(m: JsMsg, deliveryCount: number, logger: Logger): Promise<Settlement> {
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
    const result = await invoke(this.#pipeline, msg, ctx);
    if (result.kind === "error") this.#reportError(result.error, msg, ctx, logger);
    return decideSettlement(result, deliveryCount, this.#spec, logger);
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

  async #settle(m: JsMsg, settlement: Settlement, logger: Logger): Promise<void> {
    await match(settlement)
      .with({ kind: "ack" }, () => m.ack())
      .with({ kind: "nak" }, ({ delayMs }) => m.nak(delayMs))
      .with({ kind: "dead-letter" }, ({ reason }) =>
        deadLetter(m, reason, {
          conn: this.#ctx.conn,
          spec: this.#spec,
          logger,
          termWithReason: this.#termWithReason,
          retryDelayMs: backoffDelay(this.#spec, m.info.deliveryCount, logger),
        }),
      )
      .exhaustive();
  }

  #working(m: JsMsg): void {
    try {
      m.working();
    } catch (err) {
      this.#log.debug({ err, seq: m.seq }, "could not send in-progress");
    }
  }

  #watch(status: AsyncIterable<ConsumerNotification>, messages: ConsumerMessages): Promise<void> {
    return (async () => {
      for await (const s of status) this.#onStatus(s, messages);
    })().catch((err: unknown) => this.#log.warn({ err }, "consumer status watch ended"));
  }

  #onStatus(s: ConsumerNotification, messages: ConsumerMessages): void {
    const { stream, durable, name, onConsumerLost } = this.#spec;
    switch (s.type) {
      case "consumer_deleted":
      case "consumer_not_found":
        if (onConsumerLost === "fail") {
          this.#fail(
            new ErrConsumerLost(
              `consumer "${durable}" on stream "${stream}" of route "${name}" is gone (${s.type})`,
            ),
          );
        } else if (!this.#lost && !this.#halting) {
          this.#log.warn({ status: s.type, stream, durable }, "consumer lost; recreating it");
          this.#lost = true;
          messages.stop();
          this.#notify();
        }
        return;
      case "stream_not_found":
        this.#fail(streamNotFound(this.#spec));
        return;
      case "heartbeats_missed":
        // Expected while every worker is busy: the engine holds back the next pull on purpose,
        // so no request is open for the server to heartbeat on.
        if (this.#busy >= this.#spec.concurrency) {
          this.#log.debug({ count: s.count }, "heartbeats missed while workers are busy");
        } else {
          this.#log.warn({ count: s.count }, "consumer heartbeats missed; nats.js re-pulls");
        }
        return;
      case "exceeded_limits":
      case "no_responders":
        this.#log.warn({ status: s }, "consumer pull not served");
        return;
      default:
        return;
    }
  }

  /** Re-provisions a lost consumer, retrying transient failures until shutdown. */
  async #recreate(jsm: JetStreamManager): Promise<void> {
    for (let attempt = 1; !this.#halting; attempt++) {
      try {
        const result = await provisionConsumer(jsm, this.#spec, this.#log);
        this.#log.warn({ result, durable: this.#spec.durable }, "consumer recreated");
        return;
      } catch (err) {
        if (isJetrouteError(err, ErrorCode.StreamNotFound)) throw err;
        this.#log.warn({ err, attempt }, "could not recreate consumer; retrying");
        await sleep(Math.min(250 * attempt, 5_000), undefined, { signal: this.#ctx.signal }).catch(
          () => {},
        );
      }
    }
  }

  #halt(): void {
    this.#stopping = true;
    this.#messages?.stop();
    this.#notify();
  }

  #fail(err: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#fatal = err;
      this.#log.error({ err }, "route failed; draining");
    }
    this.#messages?.stop();
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
      const all = Promise.all(this.#jobs.values()).then(() => true as const);
      return await Promise.race([all, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  #abandonAll(): void {
    const seqs: number[] = [];
    for (const job of this.#jobs.keys()) {
      job.abandoned = true;
      clearInterval(job.working);
      job.working = undefined;
      seqs.push(job.m.seq);
    }
    this.#log.error(
      { seqs },
      "handlers ignored the shutdown signal; abandoned (redelivered after ack wait)",
    );
  }
}
