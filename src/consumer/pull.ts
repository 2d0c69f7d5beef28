import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { createInbox } from "@nats-io/nats-core";
import { millisToNanos } from "../duration/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { PULL } from "./lifecycle.js";
import type { PullLimits } from "./provision.js";

/** What the pull session tells the engine besides messages. */
export type PullEvent =
  /** The server says the consumer was deleted (409 Consumer Deleted). */
  | { readonly kind: "consumer-deleted" }
  /** Nothing answered the pull (503): the consumer, its stream or JetStream is not there. */
  | { readonly kind: "no-responders" }
  /** An open pull heard nothing for `silentBeats` heartbeats; at 2 it was re-issued. */
  | { readonly kind: "heartbeats-missed"; readonly silentBeats: number }
  /** The server refused the pull request (400, 409 Exceeded ...): its status and text. */
  | { readonly kind: "rejected"; readonly code: number; readonly description: string };

/** How pulls are sized and timed; the engine derives it from the route and the durable. */
export interface PullSettings {
  /** `$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>` */
  readonly subject: string;
  /** The pull's `expires`, ms. */
  readonly expiresMs: number;
  /** The pull's `idle_heartbeat`, ms: the server sends one while the pull waits idle. */
  readonly heartbeatMs: number;
  /** The durable's `max_batch` (0: none). */
  readonly maxBatch: number;
}

/** What the session asks of, and tells, its owner. */
export interface PullOwner {
  /** How many messages the next pull may ask for now (0: none until `refill()` is called). */
  room(): number;
  /** A JetStream message (its reply is the ack subject). */
  deliver(msg: Msg, receivedAt: number): void;
  event(e: PullEvent): void;
}

/**
 * The state of the session's one pull request: none open, open (asking `remaining` more
 * messages), or stopped (drained or closed: no pull is ever sent again).
 */
type PullState =
  | { readonly kind: "idle" }
  | { readonly kind: "open"; remaining: number }
  | { readonly kind: "stopped" };

const IDLE: PullState = Object.freeze({ kind: "idle" });
const STOPPED: PullState = Object.freeze({ kind: "stopped" });

/**
 * The engine's own pull loop over a core subscription: at most one pull request open at a time,
 * sized by the owner's `room()` so that what the server sends never exceeds what the engine can
 * hold, whatever the handlers do (nats.js's `consume()` queues a full pull per missed-heartbeat
 * tick while its iterator is not advanced; see docs/internals.md).
 *
 * A pull ends when it has received what it asked for, or on a status: 408 (expired), 409
 * (leadership change, consumer deleted, a limit exceeded), 400, 503. While one is open and idle
 * the server sends a heartbeat every `heartbeatMs`; after two silent beats the pull is presumed
 * lost and re-issued from a fresh inbox (so a late answer to the old one cannot exceed the
 * bound: its messages reach no subscription and are redelivered after ack wait).
 */
export class PullSession {
  readonly #nc: NatsConnection;
  readonly #settings: PullSettings;
  readonly #owner: PullOwner;
  readonly #log: Logger;
  #state: PullState = IDLE;
  #sub: Subscription | undefined;
  #inbox = "";
  #monitor: NodeJS.Timeout | undefined;
  /** Heartbeat intervals with nothing received while a pull was open. */
  #silentBeats = 0;
  /**
   * Of those, the ones since the open pull was sent. A fresh pull's first heartbeat comes one
   * full interval after the server gets it, so a pull re-issued on every tick never lives to
   * hear one (seen after a server restart: re-pulls every beat, "stalled", until a message).
   */
  #pullSilentBeats = 0;
  #heard = false;

  constructor(nc: NatsConnection, settings: PullSettings, owner: PullOwner, log: Logger) {
    this.#nc = nc;
    this.#settings = settings;
    this.#owner = owner;
    this.#log = log;
  }

  /** Subscribes its inbox, starts the heartbeat monitor and sends the first pull. */
  start(): void {
    this.#subscribe();
    this.#monitor = setInterval(() => this.#tick(), this.#settings.heartbeatMs);
    this.refill();
  }

  /** Heartbeat intervals an open pull has heard nothing (0 once anything arrives or none is open). */
  get silentBeats(): number {
    return this.#silentBeats;
  }

  /** Whether a pull request is open (the server may still send up to its remaining count). */
  get open(): number {
    return this.#state.kind === "open" ? this.#state.remaining : 0;
  }

  /** Sends a pull for `room()` messages when none is open. Call it whenever room frees up. */
  refill(): void {
    if (this.#state.kind !== "idle" || this.#sub === undefined) return;
    const { maxBatch, expiresMs, heartbeatMs, subject } = this.#settings;
    let batch = this.#owner.room();
    if (maxBatch > 0) batch = Math.min(batch, maxBatch);
    if (batch <= 0) return;
    this.#state = { kind: "open", remaining: batch };
    const body = JSON.stringify({
      batch,
      expires: millisToNanos(expiresMs),
      idle_heartbeat: millisToNanos(heartbeatMs),
    });
    try {
      this.#nc.publish(subject, body, { reply: this.#inbox });
    } catch (err) {
      // A closed connection; the engine sees the close and stops.
      this.#state = IDLE;
      this.#log.debug({ err }, "could not send a pull request");
    }
  }

  /**
   * Stops pulling without losing what is on the wire: the subscription is drained (UNSUB, then
   * everything the server sent before it is still delivered), so each message arrives and is
   * released by the engine instead of vanishing until ack wait. Resolves when drained.
   */
  async drain(): Promise<void> {
    if (this.#state.kind === "stopped") return;
    this.#state = STOPPED;
    this.#stopMonitor();
    const sub = this.#sub;
    if (sub === undefined || sub.isClosed() || this.#nc.isClosed()) return;
    await sub.drain().catch((err: unknown) => {
      this.#log.debug({ err }, "could not drain the pull subscription");
      sub.unsubscribe();
    });
  }

  /** Stops at once: unsubscribes (what is on the wire is redelivered after ack wait). */
  close(): void {
    this.#state = STOPPED;
    this.#stopMonitor();
    this.#unsubscribe();
  }

  #subscribe(): void {
    this.#unsubscribe();
    const inbox = createInbox();
    this.#inbox = inbox;
    this.#sub = this.#nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err !== null) {
          this.#log.warn({ err }, "pull subscription failed");
          this.#owner.event({ kind: "rejected", code: 0, description: String(err.message) });
          return;
        }
        this.#heard = true;
        if (msg.subject === inbox) this.#status(msg);
        else this.#message(msg);
      },
    });
  }

  #unsubscribe(): void {
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub !== undefined && !sub.isClosed() && !this.#nc.isClosed()) sub.unsubscribe();
  }

  #message(msg: Msg): void {
    const state = this.#state;
    if (state.kind === "open" && --state.remaining <= 0) this.#state = IDLE;
    this.#owner.deliver(msg, Date.now());
  }

  /** A status message on the inbox: a heartbeat, or the end of the pull. */
  #status(msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    if (code === 100) return; // idle heartbeat (already counted as heard)
    if (this.#state.kind === "open") this.#state = IDLE;
    const description = msg.headers?.description ?? "";
    switch (code) {
      case 404:
      case 408:
        break; // no messages / expired: pull again
      case 409:
        if (/consumer deleted/i.test(description)) this.#owner.event({ kind: "consumer-deleted" });
        else if (/^exceeded|push based/i.test(description)) {
          this.#owner.event({ kind: "rejected", code, description });
        } else this.#log.debug({ code, description }, "pull ended");
        break;
      case 503:
        this.#owner.event({ kind: "no-responders" });
        return; // the owner decides when to pull again
      default:
        this.#owner.event({ kind: "rejected", code, description });
        return;
    }
    this.refill();
  }

  /**
   * Once per heartbeat interval: an open pull that heard nothing for two is re-issued, and the
   * new one gets two intervals of its own before it is given up too.
   */
  #tick(): void {
    if (this.#state.kind !== "open" || this.#heard) {
      this.#heard = false;
      this.#silentBeats = 0;
      this.#pullSilentBeats = 0;
      if (this.#state.kind === "idle") this.refill();
      return;
    }
    this.#silentBeats++;
    this.#pullSilentBeats++;
    if (this.#pullSilentBeats < 2) return;
    this.#pullSilentBeats = 0;
    this.#owner.event({ kind: "heartbeats-missed", silentBeats: this.#silentBeats });
    // Presumed lost (a dead leader, a dropped flow): a fresh inbox and a fresh pull. The
    // count goes on: only something heard (or no pull open) resets it.
    this.#state = IDLE;
    this.#subscribe();
    this.refill();
  }

  #stopMonitor(): void {
    clearInterval(this.#monitor);
    this.#monitor = undefined;
  }
}

/** The route's pull settings within the durable's limits (the heartbeat at most half the expiry). */
export function pullSettingsFor(spec: JetStreamRouteSpec, limits: PullLimits): PullSettings {
  const expiresMs =
    limits.maxExpiresMs > 0 ? Math.min(PULL.expiresMs, limits.maxExpiresMs) : PULL.expiresMs;
  return {
    subject: `$JS.API.CONSUMER.MSG.NEXT.${spec.stream}.${spec.durable}`,
    expiresMs,
    heartbeatMs: Math.min(spec.idleHeartbeatMs, Math.floor(expiresMs / 2)),
    maxBatch: limits.maxBatch,
  };
}
