import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type MsgHdrs, type NatsConnection, headers as natsHeaders } from "@nats-io/nats-core";
import { jsonCodec } from "../codec/index.js";
import type { Codec } from "../codec/types.js";
import { requireConnection } from "../conn/require.js";
import type { Connection } from "../conn/types.js";
import { doublingDelay } from "../duration/index.js";
import {
  causeText,
  ErrDecode,
  ErrEncode,
  ErrExpectationFailed,
  JetrouteError,
} from "../errors/index.js";
import { componentLogger, type Logger } from "../logger/index.js";
import { guardHook } from "../runtime/hook.js";
import { validatePublishSubject } from "../subject/index.js";
import { SendSpan, ServerAttributes, type TracerSource } from "../tracing/index.js";
import {
  checkCodec,
  checkTimeout,
  muxHeaders,
  type NatsJsOptions,
  natsPublishOptions,
  ownPath,
} from "./call-options.js";
import { classifyFailure, jetStreamFailure, natsFailure } from "./classify.js";
import { serviceErrorOf, toMsgHdrs } from "./headers.js";
import { PublishMux } from "./mux.js";
import { type ProducerOption, type ProducerSettings, resolveProducerSettings } from "./options.js";
import type {
  JetStreamPublishOptions,
  Producer,
  PublishAck,
  PublishEvent,
  PublishHook,
  PublishOptions,
  RequestOptions,
  WindowItem,
  WindowOptions,
  WindowResult,
} from "./types.js";
import { checkWindowOptions, publishWindowed, type WindowPort } from "./window.js";

/**
 * Creates a producer on a jetroute connection. Options are validated here, once; a bad value
 * throws its sentinel (ErrInvalidOption, ErrInvalidDuration, ErrInvalidBackoff).
 * @example
 * const producer = createProducer(conn, withPublishRetries(5), withOnPublish(recordMetric));
 * const ack = await producer.publishJetStream("orders.created", order, { msgId: order.id });
 * if (ack.duplicate) log.info({ id: order.id }, "already stored");
 */
export function createProducer(conn: Connection, ...options: ProducerOption[]): Producer {
  requireConnection(conn, "createProducer conn");
  const settings = resolveProducerSettings(options, jsonCodec());
  const logger = settings.logger ?? componentLogger(conn.logger, "producer");
  return new ProducerImpl(conn.nats, conn.jetstream, settings, logger);
}

class ProducerImpl implements Producer {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #codec: Codec;
  readonly #attempts: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #timeoutMs: number;
  readonly #hook: PublishHook | undefined;
  readonly #logger: Logger;
  readonly #tracing: TracerSource | undefined;
  /** server.address / server.port for send spans. */
  readonly #server: ServerAttributes;
  // Shared by every publish that has no per-call options: nats.js copies it before use.
  readonly #plainOpts: NatsJsOptions;

  /**
   * A windowed publish's first attempt: no hook, no async frame, and an arrow so the window calls
   * it without a wrapper frame (nats.js captures a stack per publish; depth costs). Throws
   * synchronously for refused input.
   */
  readonly #sendOnce = (
    subject: string,
    payload: unknown,
    options: JetStreamPublishOptions | undefined,
  ): Promise<PublishAck> => {
    validatePublishSubject(subject);
    const data = this.#encode(payload, options?.codec);
    const opts =
      options === undefined ? this.#plainOpts : natsPublishOptions(options, this.#timeoutMs);
    return this.#js.publish(subject, data, opts);
  };

  constructor(nc: NatsConnection, js: JetStreamClient, s: ProducerSettings, logger: Logger) {
    this.#nc = nc;
    this.#js = js;
    this.#codec = s.codec;
    this.#attempts = s.attempts;
    this.#backoffInitialMs = s.backoffInitialMs;
    this.#backoffMaxMs = s.backoffMaxMs;
    this.#timeoutMs = s.timeoutMs;
    this.#hook = s.onPublish;
    this.#logger = logger;
    this.#tracing = s.tracing;
    this.#server = new ServerAttributes(nc);
    this.#plainOpts = Object.freeze({ timeout: s.timeoutMs });
  }

  /** Tracing fails open: a broken SDK costs a publish its span, logged once per producer. */
  readonly #tracingFailed = (err: unknown): void => {
    if (this.#tracingBroken) return;
    this.#tracingBroken = true;
    this.#logger.warn({ err }, "tracing failed; publishing without send spans while it fails");
  };
  #tracingBroken = false;

  /**
   * The headers a core publish or request sends, and its send span when a tracer records: the
   * caller's headers as they are without one, a copy carrying the trace context with one.
   */
  #traced(
    subject: string,
    given: PublishOptions["headers"],
    bytes: number,
  ): { headers: MsgHdrs | undefined; send: SendSpan | undefined } {
    const tracer = this.#tracing?.tracer();
    if (tracer === undefined) return { headers: toMsgHdrs(given, false), send: undefined };
    const headers = toMsgHdrs(given, true) ?? natsHeaders();
    const send = SendSpan.tryStart(this.#tracingFailed, this.#tracing as TracerSource, tracer, {
      subject,
      headers,
      bytes,
      server: this.#server,
    });
    return { headers, send };
  }

  publish(subject: string, payload: unknown, options?: PublishOptions): void {
    const started = this.#hook ? performance.now() : 0;
    let send: SendSpan | undefined;
    try {
      validatePublishSubject(subject);
      const data = this.#encode(payload, options?.codec);
      let headers: MsgHdrs | undefined;
      ({ headers, send } = this.#traced(subject, options?.headers, data.length));
      try {
        this.#nc.publish(subject, data, headers ? { headers } : undefined);
      } catch (err) {
        throw natsFailure("publish", subject, err);
      }
    } catch (error) {
      send?.end(error);
      if (this.#hook) this.#emit({ kind: "core", subject, latencyMs: since(started), error });
      throw error;
    }
    send?.end();
    if (this.#hook) this.#emit({ kind: "core", subject, latencyMs: since(started) });
  }

  publishJetStream(
    subject: string,
    payload: unknown,
    options?: JetStreamPublishOptions,
  ): Promise<PublishAck> {
    return this.#publishJetStream(subject, payload, options, undefined);
  }

  /**
   * One JetStream publish with its hook, send span and retries. A windowed publish passes its
   * `mux`, which takes the first attempt of items without expectations or their own timeout.
   */
  async #publishJetStream(
    subject: string,
    payload: unknown,
    options: JetStreamPublishOptions | undefined,
    mux: PublishMux | undefined,
  ): Promise<PublishAck> {
    const started = this.#hook ? performance.now() : 0;
    let send: SendSpan | undefined;
    try {
      validatePublishSubject(subject);
      const data = this.#encode(payload, options?.codec);
      const tracer = this.#tracing?.tracer();
      let opts: NatsJsOptions;
      if (tracer === undefined) {
        opts =
          options === undefined ? this.#plainOpts : natsPublishOptions(options, this.#timeoutMs);
      } else {
        // A fresh options object: the shared plain one must never carry a message's headers.
        opts = natsPublishOptions(options ?? {}, this.#timeoutMs);
        opts.headers ??= natsHeaders();
        const tracing = this.#tracing as TracerSource;
        send = SendSpan.tryStart(this.#tracingFailed, tracing, tracer, {
          subject,
          headers: opts.headers,
          bytes: data.length,
          msgId: opts.msgID,
          server: this.#server,
        });
      }
      let ack: PublishAck;
      try {
        // The first attempt is inline: the success path pays for no extra async frame.
        ack =
          mux !== undefined && (options === undefined || !ownPath(options))
            ? await mux.send(subject, data, muxHeaders(opts))
            : await this.#js.publish(subject, data, opts);
      } catch (err) {
        ack = await this.#retry(subject, data, opts, options?.msgId !== undefined, err);
      }
      send?.acked(ack);
      if (this.#hook) {
        this.#emit({
          kind: "jetstream",
          subject,
          latencyMs: since(started),
          duplicate: ack.duplicate,
        });
      }
      return ack;
    } catch (error) {
      send?.end(error);
      if (this.#hook) this.#emit({ kind: "jetstream", subject, latencyMs: since(started), error });
      throw error;
    }
  }

  async request<T = unknown>(
    subject: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    const started = this.#hook ? performance.now() : 0;
    let send: SendSpan | undefined;
    try {
      validatePublishSubject(subject);
      const data = this.#encode(payload, options?.codec);
      let headers: MsgHdrs | undefined;
      ({ headers, send } = this.#traced(subject, options?.headers, data.length));
      const timeout =
        options?.timeoutMs === undefined ? this.#timeoutMs : checkTimeout(options.timeoutMs);
      let reply: Awaited<ReturnType<NatsConnection["request"]>>;
      try {
        reply = await this.#nc.request(subject, data, headers ? { timeout, headers } : { timeout });
      } catch (err) {
        throw natsFailure("request", subject, err);
      }
      const serviceError = serviceErrorOf(subject, reply.headers, reply.data);
      if (serviceError) throw serviceError;
      const value = this.#decode(reply.data, options?.replyCodec, subject) as T;
      send?.end();
      if (this.#hook) this.#emit({ kind: "request", subject, latencyMs: since(started) });
      return value;
    } catch (error) {
      send?.end(error);
      if (this.#hook) this.#emit({ kind: "request", subject, latencyMs: since(started), error });
      throw error;
    }
  }

  /**
   * First attempts go through one reply subscription for the whole call (PublishMux), except
   * items with expectations or their own timeout, which keep nats.js's path; every retry goes
   * through `js.publish`. With a hook or a recording tracer, every item goes through the full
   * publish (hook, send span); without, a success costs no more than the mux's send.
   */
  async publishWindowed(
    items: Iterable<WindowItem> | AsyncIterable<WindowItem>,
    options?: WindowOptions,
  ): Promise<WindowResult> {
    // Options are checked before anything is subscribed.
    checkWindowOptions(options);
    let mux: PublishMux | undefined;
    try {
      mux = new PublishMux(this.#nc, this.#timeoutMs);
    } catch {
      // A closed or draining connection: js.publish fails each item with its typed error.
    }
    await mux?.ready(options?.signal);
    const port: WindowPort =
      this.#hook || this.#tracing?.tracer()
        ? { send: (s, p, o) => this.#publishJetStream(s, p, o, mux) }
        : {
            send: (subject, payload, o) => {
              if (mux === undefined || (o !== undefined && ownPath(o))) {
                return this.#sendOnce(subject, payload, o);
              }
              validatePublishSubject(subject);
              const data = this.#encode(payload, o?.codec);
              const opts = o === undefined ? undefined : natsPublishOptions(o, this.#timeoutMs);
              return mux.send(subject, data, opts && muxHeaders(opts));
            },
            recover: (s, p, o, err) => this.#recover(s, p, o, err),
          };
    try {
      return await publishWindowed(port, items, options);
    } finally {
      mux?.close();
    }
  }

  /** Continues a windowed publish whose first attempt failed (input already validated). */
  #recover(
    subject: string,
    payload: unknown,
    options: JetStreamPublishOptions | undefined,
    err: unknown,
  ): Promise<PublishAck> {
    const data = this.#encode(payload, options?.codec);
    const opts =
      options === undefined ? this.#plainOpts : natsPublishOptions(options, this.#timeoutMs);
    return this.#retry(subject, data, opts, options?.msgId !== undefined, err);
  }

  /**
   * Takes over after the first attempt failed with `firstError`: retries transient failures with
   * backoff; every failure leaves here as a JetrouteError with the nats.js error as cause.
   */
  async #retry(
    subject: string,
    data: Uint8Array,
    opts: NatsJsOptions,
    hasMsgId: boolean,
    firstError: unknown,
  ): Promise<PublishAck> {
    let err = firstError;
    // An unsent first attempt (the reply subscription was never confirmed) published nothing.
    for (let attempt = classifyFailure(firstError) === "unsent" ? 0 : 1; ; attempt++) {
      const kind = classifyFailure(err);
      if (kind === "expectation") {
        throw new ErrExpectationFailed(`publish to "${subject}": ${causeText(err)}`, {
          cause: err,
        });
      }
      // A timed-out publish may have been stored; only a msgId makes the retry dedup.
      const retryable =
        kind === "noResponders" ||
        kind === "unavailable" ||
        kind === "unsent" ||
        (kind === "timeout" && hasMsgId);
      if (!retryable || attempt >= this.#attempts) {
        throw jetStreamFailure(subject, err, kind, attempt);
      }
      const delayMs = doublingDelay(this.#backoffInitialMs, this.#backoffMaxMs, attempt - 1);
      this.#logger.debug(
        { subject, attempt, delayMs, reason: kind, err },
        "JetStream publish failed, retrying",
      );
      await sleep(delayMs);
      try {
        return await this.#js.publish(subject, data, opts);
      } catch (e) {
        err = e;
      }
    }
  }

  #encode(payload: unknown, codec: Codec | undefined): Uint8Array {
    // Bytes are already encoded: JSON would turn them into {"0":..} and no codec wants that.
    if (payload instanceof Uint8Array) return payload;
    const c = codec === undefined ? this.#codec : checkCodec(codec);
    try {
      return c.encode(payload);
    } catch (cause) {
      if (cause instanceof JetrouteError) throw cause;
      throw new ErrEncode(`codec "${c.name}" failed to encode: ${causeText(cause)}`, { cause });
    }
  }

  #decode(data: Uint8Array, codec: Codec | undefined, subject: string): unknown {
    const c = codec === undefined ? this.#codec : checkCodec(codec);
    try {
      return c.decode(data);
    } catch (cause) {
      if (cause instanceof JetrouteError) throw cause;
      throw new ErrDecode(`codec "${c.name}" failed to decode the reply from "${subject}"`, {
        cause,
      });
    }
  }

  #emit(event: PublishEvent): void {
    const hook = this.#hook;
    if (hook === undefined) return;
    // Observability must never turn a good publish into a failed one (nor kill the process
    // with an unhandled rejection).
    guardHook(
      () => hook(event),
      (err) =>
        this.#logger.warn(
          { err, subject: event.subject, kind: event.kind },
          "onPublish hook failed",
        ),
    );
  }
}

function since(started: number): number {
  return performance.now() - started;
}
