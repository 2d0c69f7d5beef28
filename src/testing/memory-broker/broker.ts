// The in-memory broker: registers routes, stores publishes, and runs and stops its parts
// (streams, delivery on the clock, core routes, dead letters).
import { setMaxListeners } from "node:events";
import type { MsgHdrs } from "@nats-io/nats-core";
import { toTimerMillis } from "../../duration/index.js";
import {
  ErrBrokerRunning,
  ErrInvalidOption,
  ErrNoResponders,
  ErrNotSettled,
  ErrPublishFailed,
  ErrService,
  invalidValueMessage,
} from "../../errors/index.js";
import { type Logger, silentLogger } from "../../logger/index.js";
import type { PublishAck } from "../../producer/types.js";
import { type Route, validateRouteSet } from "../../router/index.js";
import type { Context, Middleware, RouteSpec } from "../../router/types.js";
import { handlerRuntime } from "../../runtime/index.js";
import { manualClock, type TestClock } from "../clock.js";
import { encodeTestData, testHeaders } from "../message.js";
import { type PublishedMessage, type RecordingProducer, recordingProducer } from "../producer.js";
import { specOf, type TestReply } from "../run-handler.js";
import { CoreRoutes } from "./core.js";
import { DeadLetters, isDlqSubject } from "./dead-letters.js";
import { Delivery } from "./delivery.js";
import { BrokerState, Consumer, messageView, newEntry } from "./state.js";
import { Streams } from "./streams.js";
import type {
  MemoryBroker,
  MemoryBrokerOptions,
  MemoryDeadLetter,
  MemoryMessage,
  MemoryPublishOptions,
  MemoryRouteStats,
} from "./types.js";

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

class MemoryBrokerImpl implements MemoryBroker {
  readonly clock: TestClock;
  readonly producer: RecordingProducer;
  readonly #middleware: readonly Middleware[];
  readonly #logger: Logger;
  readonly #shutdownMs: number;
  readonly #specs: RouteSpec[] = [];
  readonly #state: BrokerState;
  readonly #streams: Streams;
  readonly #delivery: Delivery;
  readonly #core: CoreRoutes;
  readonly #dead = new DeadLetters();
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
    this.#streams = new Streams(toTimerMillis(options.duplicateWindow ?? "2m", "duplicateWindow"));
    this.#state = new BrokerState(this.clock);
    const context = (route: string, logger: Logger) => this.#context(route, logger);
    this.#delivery = new Delivery(this.#state, context, (subject, data, headers) =>
      this.#store(subject, data, headers),
    );
    this.#core = new CoreRoutes(this.#state, this.#logger, context, () => this.#delivery.notify());
    this.producer = recordingProducer({
      store: (m) => this.#store(m.subject, m.data, toHdrs(m), m.msgId),
      deliver: (m) => this.#core.deliver(m.subject, m.data, toHdrs(m)),
      respond: async (subject, payload) => {
        const reply = await this.request(subject, payload);
        // As the real producer: an error reply is thrown, a data reply decoded.
        if (reply.kind === "error") {
          const { code, description, issues } = reply;
          throw new ErrService(subject, code, description, issues ? { issues } : undefined);
        }
        return reply.value;
      },
    });
  }

  register(...routes: Route[]): this {
    if (this.#state.phase !== "idle") throw new ErrBrokerRunning("register() called while running");
    const specs = routes.map((r) => specOf(r));
    validateRouteSet([...this.#specs, ...specs]);
    this.#specs.push(...specs);
    for (const spec of specs) {
      const logger = this.#logger.child({ route: spec.name });
      const runtime = handlerRuntime(spec, this.#middleware, logger);
      this.#core.add(spec, runtime);
      if (spec.kind !== "jetstream") continue;
      const c = new Consumer(spec, runtime, logger);
      // A new durable starts at the stream's first message (withStartAt is not modelled).
      for (const s of this.#streams.stored(spec.stream)) {
        if (c.matches(s.subject)) c.entries.push(newEntry(s, this.clock.now()));
      }
      this.#state.consumers.set(spec.name, c);
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
    this.#core.deliver(subject, encodeTestData(data, "data"), headers);
  }

  async request(
    subject: string,
    data?: unknown,
    options: MemoryPublishOptions = {},
  ): Promise<TestReply> {
    checkSubject(subject);
    return this.#core.request(subject, data, options);
  }

  start(): void {
    const state = this.#state;
    if (state.phase !== "idle") throw new ErrBrokerRunning("start() called while running");
    if (this.#specs.length === 0) {
      throw new ErrInvalidOption("register at least one route before start()");
    }
    state.phase = "running";
    state.grace = new AbortController();
    setMaxListeners(0, state.grace.signal);
    this.#unsubscribe = this.clock.onAdvance(() => this.#delivery.schedule());
    this.#delivery.schedule();
  }

  idle(): Promise<void> {
    return this.#delivery.idle();
  }

  async settled(options: { readonly maxAdvances?: number } = {}): Promise<void> {
    const max = options.maxAdvances ?? 10_000;
    for (let i = 0; ; i++) {
      await this.idle();
      const next = this.#delivery.nextDue();
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
    if (this.#state.phase !== "running") return;
    this.#state.phase = "draining";
    await this.#delivery.drain(this.#shutdownMs);
    this.#end();
  }

  crash(): void {
    if (this.#state.phase === "idle") return;
    this.#state.grace.abort(new Error("memory broker crashed"));
    this.#delivery.giveUpDelivered();
    this.#end();
  }

  messages(route?: string): readonly MemoryMessage[] {
    const { consumers } = this.#state;
    if (route !== undefined && !consumers.has(route)) unknownRoute(route);
    const out: MemoryMessage[] = [];
    for (const c of consumers.values()) {
      if (route !== undefined && c.spec.name !== route) continue;
      for (const e of c.entries) out.push(messageView(c, e, this.clock.now()));
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
    return this.#dead.list(subject);
  }

  stats(route: string): MemoryRouteStats {
    const c = this.#state.consumers.get(route);
    if (c === undefined) return unknownRoute(route);
    return Object.freeze({ ...c.stats, inFlight: c.running });
  }

  #store(
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
    msgId?: string,
  ): Promise<PublishAck> {
    const now = this.clock.now();
    const consumers = this.#state.consumers.values();
    const streams = new Set<string>();
    for (const c of consumers) if (c.matches(subject)) streams.add(c.spec.stream);
    const isDlq = isDlqSubject(this.#specs, subject);
    if (streams.size === 0 && !isDlq) {
      const cause = new ErrNoResponders(`no stream listens on "${subject}" (memory broker)`);
      return Promise.reject(new ErrPublishFailed(`publish to "${subject}" failed`, { cause }));
    }
    if (isDlq) this.#dead.add(subject, data, headers);
    // A JetStream publish is a core publish too: core subscribers on the subject get it.
    this.#core.deliver(subject, data, headers);
    if (streams.size === 0)
      return Promise.resolve({ stream: "DLQ", seq: this.#dead.count, duplicate: false });
    let ack: PublishAck | undefined;
    for (const stream of streams) {
      const all = this.#state.consumers.values();
      const a = this.#streams.append(stream, subject, data, headers, msgId, now, all);
      ack ??= a;
    }
    this.#delivery.schedule();
    return Promise.resolve(ack as PublishAck);
  }

  #context(route: string, logger: Logger): Context {
    return { signal: this.#state.grace.signal, logger, route, producer: this.producer };
  }

  #end(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#state.phase = "idle";
    this.#delivery.notify();
  }
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
