import { setMaxListeners } from "node:events";
import type { MsgHdrs } from "@nats-io/nats-core";
import {
  beforeRun,
  deadLetterHeaders,
  decideSettlement,
  PULL,
  type Settlement,
} from "../consumer/index.js";
import { CoreStatsCounter, handleResult } from "../core/index.js";
import { type Duration, toTimerMillis } from "../duration/index.js";
import {
  ErrBrokerRunning,
  ErrInvalidOption,
  ErrNoResponders,
  ErrNotSettled,
  ErrPublishFailed,
  ErrService,
  ErrShutdownTimeout,
  invalidValueMessage,
} from "../errors/index.js";
import { type Logger, silentLogger } from "../logger/index.js";
import type { PublishAck } from "../producer/types.js";
import { type Route, validateRouteSet } from "../router/index.js";
import type {
  Context,
  FanOutRouteSpec,
  JetStreamRouteSpec,
  Middleware,
  QueueRouteSpec,
  RequestRouteSpec,
  RouteSpec,
} from "../router/types.js";
import { handlerRuntime, type InlineHandlerRuntime } from "../runtime/index.js";
import { subjectMatches } from "../subject/index.js";
import { manualClock, type TestClock } from "./clock.js";
import { encodeTestData, headersObject, testHeaders, testMessageView } from "./message.js";
import { type PublishedMessage, type RecordingProducer, recordingProducer } from "./producer.js";
import { specOf, type TestReply, testReply } from "./run-handler.js";

/** Options of {@link memoryBroker}. */
export interface MemoryBrokerOptions {
  /** The clock nak delays and ack wait run on. @default manualClock() */
  readonly clock?: TestClock;
  /** Broker middleware (`withBrokerMiddleware`), outside each route's own. @default none */
  readonly middleware?: readonly Middleware[];
  /**
   * How long in-flight handlers get at `stop()` before their signal aborts with
   * ErrShutdownTimeout (real time, like the handler timeout). @default "30s"
   */
  readonly shutdownTimeout?: Duration;
  /** The routes' logger. @default silent */
  readonly logger?: Logger;
  /** How long a `msgId` is remembered for deduplication, on the clock. @default "2m" */
  readonly duplicateWindow?: Duration;
}

/** Options of {@link MemoryBroker.publish}. */
export interface MemoryPublishOptions {
  /** Header name -> value or values. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** `Nats-Msg-Id`: a repeat within the duplicate window is stored once. */
  readonly msgId?: string;
}

/**
 * Where a message stands with one route: `pending` (deliverable now), `delayed` (nak'd, due
 * later on the clock), `in-flight` (delivered: buffered or its handler running), `unacked`
 * (delivered to a run that stopped or crashed without settling it: redelivered after ack wait),
 * `acked`, `dead-lettered` (stored in the DLQ and terminated) or `terminated` (no DLQ).
 */
export type MemoryMessageState =
  | "pending"
  | "delayed"
  | "in-flight"
  | "unacked"
  | "acked"
  | "dead-lettered"
  | "terminated";

/** A stored message as one route's consumer sees it. */
export interface MemoryMessage {
  readonly route: string;
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string[]>>;
  /** Deliveries so far (0 = never delivered). */
  readonly deliveryCount: number;
  readonly state: MemoryMessageState;
  /** When it is (or was) next deliverable, clock ms; for `unacked`, when its ack wait ends. */
  readonly dueAt: number;
}

/** A message stored on a DLQ subject (by a route giving up, or published there). */
export interface MemoryDeadLetter {
  /** The DLQ subject. */
  readonly subject: string;
  readonly data: Uint8Array;
  /** The original's headers plus the `Jetroute-*` trace headers (see DeadLetterHeader). */
  readonly headers: Readonly<Record<string, string[]>>;
  /** A header's first value. */
  header(name: string): string | undefined;
}

/** A route's counters (the same names as the real broker's `stats()`). */
export interface MemoryRouteStats {
  /** Deliveries (redeliveries count again). */
  readonly received: number;
  /** Handlers that finished. */
  readonly handled: number;
  readonly acked: number;
  readonly nakd: number;
  readonly deadLettered: number;
  /** Handed back unprocessed at stop, or interrupted by the end of the grace period. */
  readonly released: number;
  /** Handlers still running after the grace and abandon periods at stop. */
  readonly abandoned: number;
  /** Handlers running now. */
  readonly inFlight: number;
}

/**
 * JetStream in memory, for fast tests: the same `route(...)` objects as a real Broker, run by
 * the engine's own handler runtime and settlement table. What it models: streams (one per
 * route stream name, storing its routes' subjects), a durable per route (delivery counts,
 * acks, nak delays and ack wait on a {@link TestClock}), concurrency and prefetch, dead
 * letters with the engine's `Jetroute-*` headers on each route's DLQ subject, msgId
 * deduplication, and the drain at `stop()`. What it does not: retention limits, replicas,
 * server versions, consumer config conflicts, reconnects.
 */
export interface MemoryBroker {
  readonly clock: TestClock;
  /** What handlers get as `ctx.producer`: JetStream publishes go into this broker. */
  readonly producer: RecordingProducer;
  /**
   * Validates and adds routes (JetStream, request-reply, queue, fan-out), throwing the same
   * sentinels as `Broker.register`; ErrBrokerRunning while running.
   */
  register(...routes: Route[]): this;
  /**
   * Stores a message in every stream one of whose routes consumes `subject` (and on a DLQ
   * subject, among the dead letters); rejects with ErrPublishFailed (cause ErrNoResponders)
   * when nothing stores it, as JetStream does. `data`: bytes, a string, or JSON-encoded.
   */
  publish(subject: string, data?: unknown, options?: MemoryPublishOptions): Promise<PublishAck>;
  /**
   * A core NATS publish: runs the fan-out routes on `subject` and one route per queue group
   * (while started). A JetStream `publish` reaches them too, as on NATS.
   */
  publishCore(subject: string, data?: unknown, options?: MemoryPublishOptions): void;
  /**
   * Sends a request to the request-reply route on `subject` and returns its reply; rejects
   * with ErrNoResponders when there is none, or the broker is not started.
   */
  request(subject: string, data?: unknown, options?: MemoryPublishOptions): Promise<TestReply>;
  /** Starts delivering (again, after `stop()` or `crash()`: a new process on the same streams). */
  start(): void;
  /** Resolves when no handler runs and nothing is deliverable before the clock moves. */
  idle(): Promise<void>;
  /**
   * Runs until every message of every route is acked or dead-lettered, advancing the clock to
   * each next nak delay or ack wait expiry. Rejects with ErrNotSettled after `maxAdvances`
   * advances (a handler that retries for ever), or when messages are left and the broker is
   * not started. @default maxAdvances 10000
   */
  settled(options?: { readonly maxAdvances?: number }): Promise<void>;
  /**
   * Drains as the engine does: stops delivering, releases messages delivered but not started
   * (their next delivery counts one more, as on JetStream), waits for running handlers (the
   * shutdown timeout, then ctx.signal aborts with ErrShutdownTimeout, then abandons them).
   */
  stop(): Promise<void>;
  /**
   * Stops at once, as a killed process: running handlers' results are ignored and their
   * messages, like the buffered ones, are redelivered after ack wait on the clock.
   */
  crash(): void;
  /** Every stored message as each JetStream route sees it, or only `route`'s. */
  messages(route?: string): readonly MemoryMessage[];
  /** `messages(route)` in state acked. */
  acked(route?: string): readonly MemoryMessage[];
  /** `messages(route)` not yet acked, dead-lettered or terminated. */
  pending(route?: string): readonly MemoryMessage[];
  /** Dead letters in the order stored, or those on the DLQ subject `subject`. */
  deadLetters(subject?: string): readonly MemoryDeadLetter[];
  /** A route's counters; throws ErrInvalidOption for an unknown route. */
  stats(route: string): MemoryRouteStats;
}

/**
 * An in-memory broker: see {@link MemoryBroker}.
 * @example
 * const broker = memoryBroker();
 * broker.register(chargeRoute);
 * broker.start();
 * await broker.publish("orders.created", { id: 1 });
 * await broker.settled(); // fast-forwards the clock through retries
 * assert.equal(broker.deadLetters()[0]?.header("Jetroute-Route"), "charge");
 * await broker.stop();
 */
export function memoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  return new MemoryBrokerImpl(options);
}

interface Stored {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly timestamp: number;
}

type EntryState =
  | "ready"
  | "held"
  | "running"
  | "unacked"
  | "acked"
  | "dead-lettered"
  | "terminated";

interface Entry {
  readonly stored: Stored;
  deliveries: number;
  state: EntryState;
  /** ready: deliverable from; unacked: ack wait ends at. */
  dueAt: number;
  /** Bumped when a delivery is given up on, so a late result of it is ignored. */
  token: number;
}

class Counters {
  received = 0;
  handled = 0;
  acked = 0;
  nakd = 0;
  deadLettered = 0;
  released = 0;
  abandoned = 0;
}

/** One JetStream route's durable and worker pool. */
class Consumer {
  readonly entries: Entry[] = [];
  readonly stats = new Counters();
  running = 0;
  held = 0;

  constructor(
    readonly spec: JetStreamRouteSpec,
    readonly runtime: InlineHandlerRuntime,
    readonly logger: Logger,
  ) {}

  matches(subject: string): boolean {
    return this.spec.subjects.some((s) => subjectMatches(s, subject));
  }
}

type Phase = "idle" | "running" | "draining";

class MemoryBrokerImpl implements MemoryBroker {
  readonly clock: TestClock;
  readonly producer: RecordingProducer;
  readonly #middleware: readonly Middleware[];
  readonly #logger: Logger;
  readonly #shutdownMs: number;
  readonly #dupWindowMs: number;
  readonly #specs: RouteSpec[] = [];
  readonly #consumers = new Map<string, Consumer>();
  readonly #requests: { spec: RequestRouteSpec; runtime: InlineHandlerRuntime }[] = [];
  readonly #core: { spec: QueueRouteSpec | FanOutRouteSpec; runtime: InlineHandlerRuntime }[] = [];
  /** Core route handlers running now. */
  #coreRunning = 0;
  readonly #streams = new Map<string, Stored[]>();
  readonly #dedup = new Map<string, Map<string, { seq: number; at: number }>>();
  readonly #dead: MemoryDeadLetter[] = [];
  #phase: Phase = "idle";
  #grace = new AbortController();
  #pumpQueued = false;
  #waiters: (() => void)[] = [];
  #unsubscribe: (() => void) | undefined;

  constructor(options: MemoryBrokerOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ErrInvalidOption(invalidValueMessage("options", options, "an object"));
    }
    this.clock = options.clock ?? manualClock();
    const mw = options.middleware ?? [];
    if (!Array.isArray(mw) || mw.some((m) => typeof m !== "function")) {
      const expected = "an array of middleware functions";
      throw new ErrInvalidOption(invalidValueMessage("options.middleware", mw, expected));
    }
    this.#middleware = mw;
    this.#logger = options.logger ?? silentLogger();
    this.#shutdownMs = toTimerMillis(options.shutdownTimeout ?? "30s", "shutdownTimeout");
    this.#dupWindowMs = toTimerMillis(options.duplicateWindow ?? "2m", "duplicateWindow");
    this.producer = recordingProducer({
      store: (m) => this.#store(m.subject, m.data, toHdrs(m), m.msgId),
      deliver: (m) => this.#deliverCore(m.subject, m.data, toHdrs(m)),
      respond: async (subject, payload) => {
        const reply = await this.request(subject, payload);
        // As the real producer: an error reply is thrown, a data reply decoded.
        if (reply.kind === "error") throw new ErrService(subject, reply.code, reply.description);
        return reply.value;
      },
    });
  }

  register(...routes: Route[]): this {
    if (this.#phase !== "idle") throw new ErrBrokerRunning("register() called while running");
    const specs = routes.map((r) => specOf(r));
    validateRouteSet([...this.#specs, ...specs]);
    this.#specs.push(...specs);
    for (const spec of specs) {
      const logger = this.#logger.child({ route: spec.name });
      const runtime = handlerRuntime(spec, this.#middleware, logger);
      if (spec.kind === "request") this.#requests.push({ spec, runtime });
      if (spec.kind === "queue" || spec.kind === "fanout") this.#core.push({ spec, runtime });
      if (spec.kind !== "jetstream") continue;
      const c = new Consumer(spec, runtime, logger);
      // A new durable starts at the stream's first message (withStartAt is not modelled).
      for (const s of this.#streams.get(spec.stream) ?? []) {
        if (c.matches(s.subject)) c.entries.push(newEntry(s, this.clock.now()));
      }
      this.#consumers.set(spec.name, c);
    }
    return this;
  }

  async publish(subject: string, data?: unknown, options: MemoryPublishOptions = {}) {
    checkSubject(subject);
    const bytes = encodeTestData(data, "data");
    const headers = testHeaders(options?.headers, "options.headers");
    const msgId = options?.msgId;
    if (msgId !== undefined && (typeof msgId !== "string" || msgId === "")) {
      throw new ErrInvalidOption(invalidValueMessage("options.msgId", msgId, "a non-empty string"));
    }
    return this.#store(subject, bytes, headers, msgId);
  }

  publishCore(subject: string, data?: unknown, options: MemoryPublishOptions = {}): void {
    checkSubject(subject);
    const headers = testHeaders(options?.headers, "options.headers");
    this.#deliverCore(subject, encodeTestData(data, "data"), headers);
  }

  /** Runs the core routes a core message on `subject` reaches: every fan-out, one per queue group. */
  #deliverCore(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void {
    if (this.#phase !== "running") return;
    const groups = new Set<string>();
    for (const r of this.#core) {
      if (!subjectMatches(r.spec.subject, subject)) continue;
      if (r.spec.kind === "queue") {
        if (groups.has(r.spec.queueGroup)) continue;
        groups.add(r.spec.queueGroup);
      }
      const raw = {
        subject,
        data,
        headers,
        deliveryCount: 1,
        streamSequence: 1,
        timestamp: this.clock.now(),
      };
      const msg = testMessageView(r.spec, raw);
      const ctx = this.#context(r.spec.name, this.#logger.child({ route: r.spec.name }));
      this.#coreRunning++;
      void r.runtime.run(msg, ctx).then((result) => {
        // Errors were logged and passed to onError by the runtime; nothing is sent back.
        handleResult(result, msg, {
          spec: r.spec,
          ctx,
          stats: new CoreStatsCounter(),
          runtime: r.runtime,
        });
        this.#coreRunning--;
        this.#notify();
      });
    }
  }

  async request(subject: string, data?: unknown, options: MemoryPublishOptions = {}) {
    checkSubject(subject);
    // As on NATS: nobody answers while the routes are not running.
    const r =
      this.#phase === "running"
        ? this.#requests.find((q) => subjectMatches(q.spec.subject, subject))
        : undefined;
    if (r === undefined) throw new ErrNoResponders(`no responders for "${subject}"`);
    const raw = {
      subject,
      data: encodeTestData(data, "data"),
      headers: testHeaders(options?.headers, "options.headers"),
      deliveryCount: 1,
      streamSequence: 1,
      timestamp: this.clock.now(),
    };
    const msg = testMessageView(r.spec, raw);
    const ctx = this.#context(r.spec.name, this.#logger.child({ route: r.spec.name }));
    const result = await r.runtime.run(msg, ctx);
    const stats = new CoreStatsCounter();
    return testReply(handleResult(result, msg, { spec: r.spec, ctx, stats, runtime: r.runtime }));
  }

  start(): void {
    if (this.#phase !== "idle") throw new ErrBrokerRunning("start() called while running");
    if (this.#specs.length === 0) {
      throw new ErrInvalidOption("register at least one route before start()");
    }
    this.#phase = "running";
    this.#grace = new AbortController();
    setMaxListeners(0, this.#grace.signal);
    this.#unsubscribe = this.clock.onAdvance(() => this.#schedule());
    this.#schedule();
  }

  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#notify();
    });
  }

  async settled(options: { readonly maxAdvances?: number } = {}): Promise<void> {
    const max = options.maxAdvances ?? 10_000;
    for (let i = 0; ; i++) {
      await this.idle();
      const next = this.#nextDue();
      if (next === undefined) {
        // Stopped (or never started) with messages left: nothing will ever settle them.
        const left = this.pending().length;
        if (left === 0) return;
        throw new ErrNotSettled(`${left} messages unsettled and the broker is not running`);
      }
      if (i >= max) {
        const left = this.pending().length;
        throw new ErrNotSettled(`${left} messages still unsettled after ${max} clock advances`);
      }
      await this.clock.advance(Math.max(0, next - this.clock.now()));
    }
  }

  async stop(): Promise<void> {
    if (this.#phase !== "running") return;
    this.#phase = "draining";
    for (const c of this.#consumers.values()) {
      for (const e of c.entries) {
        if (e.state !== "held") continue;
        // A bare nak: back at once, its delivery already counted (as the engine's release).
        e.state = "ready";
        e.dueAt = this.clock.now();
        c.held--;
        c.stats.released++;
      }
    }
    const busy = () =>
      this.#coreRunning > 0 || [...this.#consumers.values()].some((c) => c.running > 0);
    if (!(await this.#until(() => !busy(), this.#shutdownMs))) {
      this.#grace.abort(
        new ErrShutdownTimeout(`handlers still running after ${this.#shutdownMs} ms`),
      );
      if (!(await this.#until(() => !busy(), PULL.abandonAfterMs))) {
        for (const c of this.#consumers.values()) {
          for (const e of c.entries) {
            if (e.state !== "running") continue;
            this.#giveUp(c, e);
            c.stats.abandoned++;
          }
        }
      }
    }
    this.#end();
  }

  crash(): void {
    if (this.#phase === "idle") return;
    this.#grace.abort(new Error("memory broker crashed"));
    for (const c of this.#consumers.values()) {
      for (const e of c.entries)
        if (e.state === "held" || e.state === "running") this.#giveUp(c, e);
    }
    this.#end();
  }

  messages(route?: string): readonly MemoryMessage[] {
    if (route !== undefined && !this.#consumers.has(route)) unknownRoute(route);
    const out: MemoryMessage[] = [];
    for (const c of this.#consumers.values()) {
      if (route !== undefined && c.spec.name !== route) continue;
      for (const e of c.entries) out.push(this.#view(c, e));
    }
    return out;
  }

  acked(route?: string): readonly MemoryMessage[] {
    return this.messages(route).filter((m) => m.state === "acked");
  }

  pending(route?: string): readonly MemoryMessage[] {
    return this.messages(route).filter(
      (m) => m.state !== "acked" && m.state !== "dead-lettered" && m.state !== "terminated",
    );
  }

  deadLetters(subject?: string): readonly MemoryDeadLetter[] {
    return subject === undefined
      ? [...this.#dead]
      : this.#dead.filter((d) => d.subject === subject);
  }

  stats(route: string): MemoryRouteStats {
    const c = this.#consumers.get(route);
    if (c === undefined) return unknownRoute(route);
    return Object.freeze({ ...c.stats, inFlight: c.running });
  }

  // --- storing -------------------------------------------------------------------------------

  #store(
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
    msgId?: string,
  ): Promise<PublishAck> {
    const now = this.clock.now();
    const streams = new Set<string>();
    for (const c of this.#consumers.values()) if (c.matches(subject)) streams.add(c.spec.stream);
    const isDlq = this.#specs.some(
      (s) => s.kind === "jetstream" && s.dlq !== undefined && subjectMatches(s.dlq, subject),
    );
    if (streams.size === 0 && !isDlq) {
      const cause = new ErrNoResponders(`no stream listens on "${subject}" (memory broker)`);
      return Promise.reject(new ErrPublishFailed(`publish to "${subject}" failed`, { cause }));
    }
    if (isDlq) this.#dead.push(deadLetter(subject, data, headers));
    // A JetStream publish is a core publish too: core subscribers on the subject get it.
    this.#deliverCore(subject, data, headers);
    if (streams.size === 0)
      return Promise.resolve({ stream: "DLQ", seq: this.#dead.length, duplicate: false });
    let ack: PublishAck | undefined;
    for (const stream of streams) {
      const a = this.#append(stream, subject, data, headers, msgId, now);
      ack ??= a;
    }
    this.#schedule();
    return Promise.resolve(ack as PublishAck);
  }

  #append(
    stream: string,
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
    msgId: string | undefined,
    now: number,
  ): PublishAck {
    const seen = this.#dedup.get(stream) ?? new Map<string, { seq: number; at: number }>();
    this.#dedup.set(stream, seen);
    if (msgId !== undefined) {
      const prior = seen.get(msgId);
      if (prior !== undefined && now - prior.at < this.#dupWindowMs) {
        return { stream, seq: prior.seq, duplicate: true };
      }
    }
    const list = this.#streams.get(stream) ?? [];
    this.#streams.set(stream, list);
    const stored: Stored = { stream, seq: list.length + 1, subject, data, headers, timestamp: now };
    list.push(stored);
    if (msgId !== undefined) seen.set(msgId, { seq: stored.seq, at: now });
    for (const c of this.#consumers.values()) {
      if (c.spec.stream === stream && c.matches(subject)) c.entries.push(newEntry(stored, now));
    }
    return { stream, seq: stored.seq, duplicate: false };
  }

  // --- delivering ----------------------------------------------------------------------------

  #schedule(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
      this.#notify();
    });
  }

  /** Delivers what is due, up to concurrency + prefetch per route, and starts workers. */
  #pump(): void {
    if (this.#phase !== "running") return;
    const now = this.clock.now();
    for (const c of this.#consumers.values()) {
      const room = c.spec.concurrency + c.spec.prefetch;
      // Redeliveries first, then new messages, each oldest first (as the server's rdq).
      const due = c.entries
        .filter((e) => isDue(e, now))
        .sort((a, b) => Number(b.deliveries > 0) - Number(a.deliveries > 0));
      for (const e of due) {
        if (c.held + c.running >= room) break;
        e.deliveries++;
        e.state = "held";
        c.held++;
        c.stats.received++;
      }
      for (const e of c.entries) {
        if (c.running >= c.spec.concurrency) break;
        if (e.state === "held") void this.#run(c, e);
      }
    }
  }

  /** One delivery, from worker to settlement: the engine's runtime and settlement table. */
  async #run(c: Consumer, e: Entry): Promise<void> {
    e.state = "running";
    c.held--;
    c.running++;
    const token = ++e.token;
    const deliveryCount = e.deliveries;
    const log = c.logger.child({ seq: e.stored.seq, deliveryCount });
    let s: Settlement | undefined = beforeRun(c.spec, deliveryCount);
    if (s === undefined) {
      const msg = testMessageView(c.spec, {
        subject: e.stored.subject,
        data: e.stored.data,
        headers: e.stored.headers,
        deliveryCount,
        streamSequence: e.stored.seq,
        timestamp: e.stored.timestamp,
      });
      const result = await c.runtime.run(msg, this.#context(c.spec.name, log));
      if (e.token !== token) return; // given up on (crash, abandoned): the result is lost
      c.stats.handled++;
      s = decideSettlement(result, deliveryCount, c.spec, log);
    }
    this.#apply(c, e, s, log);
    c.running--;
    this.#schedule();
    this.#notify();
  }

  #apply(c: Consumer, e: Entry, s: Settlement, log: Logger): void {
    const now = this.clock.now();
    switch (s.kind) {
      case "ack":
        e.state = "acked";
        c.stats.acked++;
        return;
      case "nak":
        e.state = "ready";
        e.dueAt = now + s.delayMs;
        c.stats.nakd++;
        return;
      case "release":
        e.state = "ready";
        e.dueAt = now;
        c.stats.released++;
        return;
      case "dead-letter": {
        const { spec } = c;
        const { stored } = e;
        if (spec.dlq === undefined) {
          log.error({ reason: s.reason }, "message terminated (route has no DLQ)");
          e.state = "terminated";
        } else {
          const source = {
            subject: stored.subject,
            data: stored.data,
            headers: stored.headers,
            stream: stored.stream,
            seq: stored.seq,
            deliveryCount: e.deliveries,
          };
          const headers = deadLetterHeaders(source, spec, s.reason);
          // Stored like any publish: a route consuming the DLQ subject gets it too.
          void this.#store(spec.dlq, stored.data, headers).catch(() => {});
          log.warn({ reason: s.reason, dlq: spec.dlq }, "message dead-lettered");
          e.state = "dead-lettered";
        }
        c.stats.deadLettered++;
        return;
      }
    }
  }

  #context(route: string, logger: Logger): Context {
    return { signal: this.#grace.signal, logger, route, producer: this.producer };
  }

  /** A delivery no one will settle: back after ack wait, on the clock. */
  #giveUp(c: Consumer, e: Entry): void {
    if (e.state === "held") c.held--;
    if (e.state === "running") c.running--;
    e.token++;
    e.state = "unacked";
    e.dueAt = this.clock.now() + c.spec.ackWaitMs;
  }

  #end(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#phase = "idle";
    this.#notify();
  }

  /** The next clock time something becomes deliverable, if anything unsettled is waiting. */
  #nextDue(): number | undefined {
    if (this.#phase !== "running") return undefined;
    let next: number | undefined;
    for (const c of this.#consumers.values()) {
      for (const e of c.entries) {
        if (e.state !== "ready" && e.state !== "unacked") continue;
        if (next === undefined || e.dueAt < next) next = e.dueAt;
      }
    }
    return next;
  }

  #isIdle(): boolean {
    if (this.#pumpQueued || this.#coreRunning > 0) return false;
    const now = this.clock.now();
    for (const c of this.#consumers.values()) {
      if (c.running > 0) return false;
      if (this.#phase === "running" && c.entries.some((e) => e.state === "held" || isDue(e, now))) {
        return false;
      }
    }
    return true;
  }

  #notify(): void {
    if (this.#waiters.length === 0 || !this.#isIdle()) return;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits (real time, at most `ms`) until `done()`, re-checking whenever a handler finishes. */
  async #until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(10, Math.max(0, deadline - Date.now())));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  #view(c: Consumer, e: Entry): MemoryMessage {
    const now = this.clock.now();
    const state: MemoryMessageState =
      e.state === "ready"
        ? e.dueAt <= now
          ? "pending"
          : "delayed"
        : e.state === "held" || e.state === "running"
          ? "in-flight"
          : e.state;
    return Object.freeze({
      route: c.spec.name,
      stream: e.stored.stream,
      seq: e.stored.seq,
      subject: e.stored.subject,
      data: e.stored.data,
      headers: headersObject(e.stored.headers),
      deliveryCount: e.deliveries,
      state,
      dueAt: e.dueAt,
    });
  }
}

function newEntry(stored: Stored, now: number): Entry {
  return { stored, deliveries: 0, state: "ready", dueAt: now, token: 0 };
}

function isDue(e: Entry, now: number): boolean {
  return (e.state === "ready" || e.state === "unacked") && e.dueAt <= now;
}

/** A dead letter as tests see it (the server backend builds its own with this too). */
export function deadLetter(subject: string, data: Uint8Array, h: MsgHdrs | undefined): MemoryDeadLetter {
  const headers = headersObject(h);
  return Object.freeze({
    subject,
    data,
    headers,
    header: (name: string) =>
      headers[name]?.[0] ??
      Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1][0],
  });
}

function toHdrs(m: PublishedMessage): MsgHdrs | undefined {
  return Object.keys(m.headers).length === 0 ? undefined : testHeaders(m.headers, "headers");
}

function checkSubject(subject: unknown): asserts subject is string {
  if (typeof subject === "string" && subject !== "" && !/[\s*>]/.test(subject)) return;
  throw new ErrInvalidOption(
    invalidValueMessage("subject", subject, "a subject without wildcards"),
  );
}

function unknownRoute(route: string): never {
  throw new ErrInvalidOption(
    invalidValueMessage("route", route, "the name of a registered JetStream route"),
  );
}
