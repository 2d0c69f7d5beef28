import type { MsgHdrs } from "@nats-io/nats-core";
import type { RouteSpec } from "../router/types.js";

/** One message a route is about to hand to its handler, as observers see it. */
export interface ObservedMessage {
  readonly subject: string;
  /** The raw NATS headers: the W3C trace context and `Nats-Msg-Id` live here. */
  readonly headers: MsgHdrs | undefined;
  /** Payload size, bytes. */
  readonly bytes: number;
  /** 1 on the first delivery; always 1 on core routes. */
  readonly deliveryCount: number;
  /** JetStream routes only: the stream and the message's stream sequence. */
  readonly stream?: string;
  readonly seq?: number;
}

/**
 * What became of a handled message. JetStream routes: `acked`, `retried` (nak with a delay,
 * a failed dead-letter store included), `dead_lettered` (terminated, copied to the DLQ when the
 * route has one), `released` (bare nak: interrupted by shutdown), `abandoned` (the handler
 * returned after the shutdown gave up on it: nothing was sent, the server redelivers after ack
 * wait), `skipped` (withInbox: the key was processed before; acked unrun). Core routes: `ok`, or `error` (the handler failed, or a request route answered with an
 * error reply).
 */
export type MessageOutcome =
  | "acked"
  | "retried"
  | "dead_lettered"
  | "released"
  | "abandoned"
  | "skipped"
  | "ok"
  | "error";

/** Why an outcome happened, where there is something to say. */
export interface OutcomeDetail {
  /** `retried`: the redelivery delay, ms. */
  readonly delayMs?: number;
  /** `dead_lettered`: the reason stored with the dead letter. */
  readonly reason?: string;
  /** The handler's error, when it failed. */
  readonly error?: unknown;
  /** Request routes' error reply: its `Nats-Service-Error-Code` and description. */
  readonly replyCode?: number;
  readonly replyDescription?: string;
}

/**
 * One message's observation, from the handler's start to its settlement. The engine calls
 * `within` to run the handler pipeline (so a span can be the active context), `handled` when the
 * pipeline settled (the handler's duration ends there), and `settled` once the outcome was
 * applied. Implementations must never throw.
 */
export interface MessageObservation {
  /** Calls `fn(a, b)` inside the observation's context; no closure per message. */
  within<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B): R;
  handled(): void;
  settled(outcome: MessageOutcome, detail?: OutcomeDetail): void;
}

/** Observes one route run's messages. */
export interface RouteObserver {
  begin(message: ObservedMessage): MessageObservation;
}

/**
 * One observing capability of the broker (metrics, traces, service stats). Asked once per route
 * run; `undefined` means the route is not observed by it (costs nothing per message).
 */
export interface Instrument {
  route(spec: RouteSpec): RouteObserver | undefined;
}
