import type { JsMsg } from "@nats-io/jetstream";
import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { ErrDecode } from "../errors/index.js";
import type { Message } from "../router/types.js";

const decoder = new TextDecoder();
const EMPTY: ReadonlyMap<string, readonly string[]> = new Map();

/** The handler's view of a JetStream message. Lazy: nothing is decoded until asked for. */
export function fromJsMsg(m: JsMsg): Message {
  return new NatsMessage(
    m.subject,
    m.data,
    m.headers,
    m.info.deliveryCount,
    m.seq,
    m.time,
    undefined,
  );
}

/** The handler's view of a core NATS message (delivery count 1, no stream sequence). */
export function fromCoreMsg(m: Msg, receivedAt: Date = new Date()): Message {
  return new NatsMessage(
    m.subject,
    m.data,
    m.headers,
    1,
    undefined,
    receivedAt,
    m.reply || undefined,
  );
}

class NatsMessage implements Message {
  #headers: ReadonlyMap<string, readonly string[]> | undefined;
  constructor(
    readonly subject: string,
    readonly data: Uint8Array,
    private readonly rawHeaders: MsgHdrs | undefined,
    readonly deliveryCount: number,
    readonly streamSequence: number | undefined,
    readonly timestamp: Date,
    readonly replyTo: string | undefined,
  ) {}

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
    return this.rawHeaders?.has(name) ? this.rawHeaders.get(name) : undefined;
  }

  get headers(): ReadonlyMap<string, readonly string[]> {
    if (this.#headers === undefined) {
      if (this.rawHeaders === undefined) {
        this.#headers = EMPTY;
      } else {
        const map = new Map<string, readonly string[]>();
        for (const [k, v] of this.rawHeaders) map.set(k, v);
        this.#headers = map;
      }
    }
    return this.#headers;
  }
}
