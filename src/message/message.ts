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

/** The headers as a map of name to values (built once per message, on first read). */
function headerMap(raw: MsgHdrs | undefined): ReadonlyMap<string, readonly string[]> {
  if (raw === undefined) return EMPTY;
  const map = new Map<string, readonly string[]>();
  for (const [k, v] of raw) map.set(k, v);
  return map;
}

/**
 * What both message kinds share: payload and header views built on first use. Most handlers
 * read one or two fields, so a message costs an object and nothing else until then. No fields
 * here: a base class with field initializers more than doubled the cost of constructing a
 * message (a second initializer run per instance), so each kind keeps its own caches.
 */
abstract class LazyMessage implements Message {
  abstract get subject(): string;
  abstract get data(): Uint8Array;
  abstract get deliveryCount(): number;
  abstract get streamSequence(): number | undefined;
  abstract get replyTo(): string | undefined;
  abstract get timestamp(): Date;
  abstract get headers(): ReadonlyMap<string, readonly string[]>;
  protected abstract get rawHeaders(): MsgHdrs | undefined;

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
  #headers: ReadonlyMap<string, readonly string[]> | undefined;
  #timestamp: Date | undefined;

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
  get headers(): ReadonlyMap<string, readonly string[]> {
    this.#headers ??= headerMap(this.#raw.headers);
    return this.#headers;
  }
  get timestamp(): Date {
    this.#timestamp ??= new Date(this.#receivedAt);
    return this.#timestamp;
  }
  protected get rawHeaders(): MsgHdrs | undefined {
    return this.#raw.headers;
  }
}

/** A JetStream message; `timestamp` is when the server stored it. */
class JsMessage extends LazyMessage {
  readonly #d: JetStreamDelivery;
  #data: Uint8Array | undefined;
  #headers: ReadonlyMap<string, readonly string[]> | undefined;
  #timestamp: Date | undefined;

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
  get headers(): ReadonlyMap<string, readonly string[]> {
    this.#headers ??= headerMap(this.#d.msg.headers);
    return this.#headers;
  }
  get timestamp(): Date {
    this.#timestamp ??= new Date(Number(BigInt(this.#d.timestampNanos || "0") / 1_000_000n));
    return this.#timestamp;
  }
  protected get rawHeaders(): MsgHdrs | undefined {
    return this.#d.msg.headers;
  }
}
