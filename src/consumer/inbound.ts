import type { Msg } from "@nats-io/nats-core";
import { millisToNanos } from "../duration/index.js";
import type { Delivery } from "./delivery.js";

/**
 * Where a received message is in the engine. One state, moving forward only:
 * `buffered` (received, waiting for a worker) -> `running` (its handler runs) -> `settling` (its
 * handler is done, its dead letter is being stored; the worker is free) -> `settled`.
 */
export type InboundPhase = "buffered" | "running" | "settling" | "settled";

const encoder = new TextEncoder();
const ACK = encoder.encode("+ACK");
const NAK = encoder.encode("-NAK");
const WPI = encoder.encode("+WPI");
const TERM = encoder.encode("+TERM");

/**
 * A JetStream message as the engine's own pull received it (a core nats.js `Msg` whose reply is
 * its ack subject), with the replies JetStream understands. Like nats.js's `JsMsg.doAck`, the
 * first final reply (ack, nak, term) wins and later ones are not sent; `working()` is not final.
 * Every reply is fire-and-forget: a closed connection returns false, and the server redelivers
 * after ack wait.
 */
export class Inbound {
  readonly msg: Msg;
  readonly seq: number;
  readonly deliveryCount: number;
  readonly stream: string;
  readonly timestampNanos: string;
  /** When this process received it (`Date.now()`); in-progress acks are timed from here. */
  readonly receivedAt: number;
  phase: InboundPhase = "buffered";
  #replied = false;

  constructor(msg: Msg, delivery: Delivery, receivedAt: number) {
    this.msg = msg;
    this.seq = delivery.seq;
    this.deliveryCount = delivery.deliveryCount;
    this.stream = delivery.stream;
    this.timestampNanos = delivery.timestampNanos;
    this.receivedAt = receivedAt;
  }

  ack(): boolean {
    return this.#final(ACK);
  }

  /** `-NAK`, redelivered at once, or after `delayMs` (JetStream `nak` with a delay, 2.7.1+). */
  nak(delayMs = 0): boolean {
    const body =
      delayMs > 0
        ? encoder.encode(`-NAK ${JSON.stringify({ delay: millisToNanos(delayMs) })}`)
        : NAK;
    return this.#final(body);
  }

  /** `+TERM`, with a reason only where the server honours it (see `supportsTermReason`). */
  term(reason?: string): boolean {
    return this.#final(reason ? encoder.encode(`+TERM ${reason}`) : TERM);
  }

  /** `+WPI`: resets the server's ack-wait clock for this delivery. */
  working(): boolean {
    return !this.#replied && this.#send(WPI);
  }

  #final(body: Uint8Array): boolean {
    if (this.#replied) return false;
    this.#replied = true;
    return this.#send(body);
  }

  #send(body: Uint8Array): boolean {
    try {
      return this.msg.respond(body);
    } catch {
      // A closed connection: nothing is lost, the server redelivers after ack wait.
      return false;
    }
  }
}
