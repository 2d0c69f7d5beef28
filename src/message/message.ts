import { Match, type Msg, type MsgHdrs } from "@nats-io/nats-core";
import { ErrDecode } from "../errors/index.js";
import type { Message } from "../router/types.js";

const decoder = new TextDecoder();
const EMPTY: ReadonlyMap<string, readonly string[]> = new Map();

/** What the handler's view of a JetStream message is made from: the delivery the engine pulled. */
export interface JetStreamDelivery {
  readonly msg: Msg;
  readonly seq: number;
  readonly deliveryCount: number;
  /** When the server stored it: ns since the epoch, as decimal digits. */
  readonly timestampNanos: string;
}

/** The handler's view of a JetStream message. Lazy: nothing is decoded until asked for. */
export function fromJetStream(d: JetStreamDelivery): Message {
  return new JsMessage(d);
}

/**
 * The handler's view of a core NATS message (delivery count 1, no stream sequence).
 * `receivedAt` (epoch ms) is when the message arrived; its `Date` is built only if read.
 */
export function fromCoreMsg(m: Msg, receivedAt: number = Date.now()): Message {
  return new CoreMessage(m, receivedAt);
}

/**
 * What both message kinds share: payload and header views built on first use. Most handlers
 * read one or two fields, so a message costs an object and nothing else until then.
 */
abstract class LazyMessage implements Message {
  #headers: ReadonlyMap<string, readonly string[]> | undefined;
  #timestamp: Date | undefined;

  abstract get subject(): string;
  abstract get data(): Uint8Array;
  abstract get deliveryCount(): number;
  abstract get streamSequence(): number | undefined;
  abstract get replyTo(): string | undefined;
  protected abstract get rawHeaders(): MsgHdrs | undefined;
  protected abstract makeTimestamp(): Date;

  get timestamp(): Date {
    this.#timestamp ??= this.makeTimestamp();
    return this.#timestamp;
  }

  string(): string {
    return decoder.decode(this.data);
  }

  json<T = unknown>(): T {
    try {
      return JSON.parse(this.string()) as T;
    } catch (cause) {
      throw new ErrDecode(`payload on ${this.subject} is not valid JSON`, { cause });
    }
  }

  header(name: string): string | undefined {
    const h = this.rawHeaders;
    if (h === undefined) return undefined;
    if (h.has(name)) return h.get(name);
    // Header names are case-sensitive on the wire and in nats.js, but a publisher's casing is
    // not the handler's business: fall back to a case-insensitive match (the first one).
    return h.has(name, Match.IgnoreCase) ? h.get(name, Match.IgnoreCase) : undefined;
  }

  get headers(): ReadonlyMap<string, readonly string[]> {
    if (this.#headers === undefined) {
      const raw = this.rawHeaders;
      if (raw === undefined) {
        this.#headers = EMPTY;
      } else {
        const map = new Map<string, readonly string[]>();
        for (const [k, v] of raw) map.set(k, v);
        this.#headers = map;
      }
    }
    return this.#headers;
  }
}

/**
 * A core message over nats.js's Msg, whose getters decode on access (the subject and reply are
 * UTF-8 decoded, headers parsed): a fan-out handler that reads only `data` pays for nothing
 * else, which is a measurable share of a noop handler's cost.
 */
class CoreMessage extends LazyMessage {
  readonly #raw: Msg;
  readonly #receivedAt: number;
  #data: Uint8Array | undefined;

  constructor(raw: Msg, receivedAt: number) {
    super();
    this.#raw = raw;
    this.#receivedAt = receivedAt;
  }

  get subject(): string {
    return this.#raw.subject;
  }
  get data(): Uint8Array {
    // nats.js slices a new view per read when there are headers; keep one, as a field would.
    this.#data ??= this.#raw.data;
    return this.#data;
  }
  get deliveryCount(): number {
    return 1;
  }
  get streamSequence(): number | undefined {
    return undefined;
  }
  get replyTo(): string | undefined {
    return this.#raw.reply || undefined;
  }
  protected get rawHeaders(): MsgHdrs | undefined {
    return this.#raw.headers;
  }
  protected makeTimestamp(): Date {
    return new Date(this.#receivedAt);
  }
}

/** A JetStream message; `timestamp` is when the server stored it. */
class JsMessage extends LazyMessage {
  readonly #d: JetStreamDelivery;
  #data: Uint8Array | undefined;

  constructor(d: JetStreamDelivery) {
    super();
    this.#d = d;
  }

  get subject(): string {
    return this.#d.msg.subject;
  }
  get data(): Uint8Array {
    this.#data ??= this.#d.msg.data;
    return this.#data;
  }
  get deliveryCount(): number {
    return this.#d.deliveryCount;
  }
  get streamSequence(): number | undefined {
    return this.#d.seq;
  }
  get replyTo(): string | undefined {
    return undefined;
  }
  protected get rawHeaders(): MsgHdrs | undefined {
    return this.#d.msg.headers;
  }
  protected makeTimestamp(): Date {
    return new Date(Number(BigInt(this.#d.timestampNanos || "0") / 1_000_000n));
  }
}
