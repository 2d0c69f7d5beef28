import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  type Status,
  type Subscription,
  TimeoutError,
} from "@nats-io/nats-core";
import { UnsentError } from "./classify.js";
import type { PublishAck } from "./types.js";

interface Pending {
  readonly resolve: (ack: PublishAck) => void;
  readonly reject: (err: unknown) => void;
  readonly subject: string;
  /** performance.now() after which the ack is late. */
  readonly deadline: number;
}

const decoder = new TextDecoder();

/**
 * The first attempt of a windowed JetStream publish, without nats.js's per-request machinery:
 * one wildcard reply subscription for the whole window (`<inbox>.<n>`), acks matched by `n`,
 * and one timer that expires the oldest acks, since every publish here shares one timeout.
 * `js.publish` instead arms a timer, builds a request object and runs three async frames per
 * message, ~3x the client CPU of the publish itself (docs/internals.md, "Windowed publish").
 * Failures come out as the errors nats.js gives (JetStreamApiError, NoRespondersError under a
 * RequestError, TimeoutError, ClosedConnectionError), so the producer's retry path classifies
 * them the same; retries go through `js.publish`.
 * Owned by one `publishWindowed` call: `close()` after every publish settled unsubscribes.
 */
export class PublishMux {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #prefix: string;
  readonly #sub: Subscription;
  /** The connection's status events: a refused publish is reported there, not to our sub. */
  readonly #status: AsyncIterable<Status> & { stop?: () => void };
  // Insertion order is deadline order (one timeout for all), so expiry looks at the head only.
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * `confirming` until the server answered a PING after our SUB (nothing is published before),
   * then `open`; `ended` once a refusal, a close or `close()` ended it (`#broken` says why).
   */
  #state: "confirming" | "open" | "ended" = "confirming";
  #broken: unknown;

  /**
   * @throws what `nc.subscribe` throws (closed or draining connection): the caller publishes
   * without a mux then
   */
  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    // The connection's own inbox prefix: accounts may allow replies only under it.
    const inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.#prefix = `${createInbox(inboxPrefix)}.`;
    this.#sub = nc.subscribe(`${this.#prefix}*`, {
      callback: (err, msg) => this.#onReply(err, msg),
    });
    // Closed by the connection (close, drain) or refused by the server: nothing more will come.
    this.#sub.closed.then(
      (err) => this.#failAll(err ?? new ClosedConnectionError()),
      (err: unknown) => this.#failAll(err),
    );
    this.#status = nc.status();
    void this.#watchRefusals();
  }

  /**
   * A publish the account may not make is answered with `-ERR 'Permissions Violation for
   * Publish to "<subject>"'`, which nats.js hands only to its own request mux. Without this the
   * item would wait out its timeout and fail as one. Errors come in publish order, so the
   * oldest pending publish to that subject is the refused one (any of them would be: the
   * permission is the connection's).
   */
  async #watchRefusals(): Promise<void> {
    for await (const s of this.#status) {
      if (s.type !== "error") continue;
      const err = s.error;
      // Any SUB refused while we confirm ours is taken as ours: failing the call unsent is
      // safe, publishing with no reply subscription is not.
      if (this.#state === "confirming" && refusesSubscription(err)) this.#failAll(err);
      if (!(err instanceof PermissionViolationError) || err.operation !== "publish") continue;
      for (const [n, p] of this.#pending) {
        if (p.subject !== err.subject) continue;
        this.#pending.delete(n);
        p.reject(err);
        break;
      }
    }
  }

  /**
   * Confirms the reply subscription before anything is published: resolves once the server has
   * answered a PING sent after our SUB and any refusal that came before that answer was seen
   * (a permission violation, `maximum subscriptions exceeded`). Publishing first would store
   * messages whose acks can never arrive, and retrying them would store them again once the
   * stream's duplicate window has passed. A PING lost to a reconnect is sent again. Without an
   * answer within the publish timeout, or once `signal` aborts, every item fails as unsent
   * (UnsentError), which the producer retries through `js.publish` without counting an
   * attempt; a close fails them as closed.
   */
  async ready(signal: AbortSignal | undefined): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
      onAbort = () => resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    // Closed meanwhile: nats.js leaves a pending flush unanswered.
    const closed = this.#sub.closed.then(() => true as const);
    let lost: unknown;
    try {
      for (;;) {
        const flushed = this.#nc.flush();
        flushed.catch(() => {});
        let answered: boolean;
        try {
          answered = await Promise.race([flushed.then(() => true), closed, expired]);
        } catch (err) {
          if (this.#nc.isClosed()) {
            this.#failAll(new ClosedConnectionError());
            return;
          }
          // nats.js rejects pending PINGs each time it re-dials (and drops what was written
          // while disconnected); it sends our SUB again with the new connection's handshake.
          // Ask again: a short outage costs a wait, not the items.
          lost = err;
          continue;
        }
        if (!answered) {
          const why = lost === undefined ? "did not confirm" : "was not reachable to confirm";
          this.#failAll(
            new UnsentError(`the server ${why} the reply subscription in time`, { cause: lost }),
          );
          return;
        }
        // A refusal parsed before the PONG reaches the status stream a few microtasks later.
        await new Promise<void>((resolve) => setImmediate(resolve));
        break;
      }
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
    if (this.#state === "confirming") this.#state = "open";
  }

  /**
   * Publishes with a reply subject of our subscription and resolves with the stream's ack.
   * Never throws: a refusal by nats.js (closed connection, over max_payload) is the rejection.
   */
  send(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): Promise<PublishAck> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    const n = this.#next++;
    try {
      const reply = `${this.#prefix}${n}`;
      this.#nc.publish(subject, data, headers === undefined ? { reply } : { reply, headers });
    } catch (err) {
      return Promise.reject(err);
    }
    // Registered after the publish: its ack cannot arrive before this synchronous code ends.
    return new Promise<PublishAck>((resolve, reject) => {
      this.#pending.set(n, {
        resolve,
        reject,
        subject,
        deadline: performance.now() + this.#timeoutMs,
      });
      this.#timer ??= setTimeout(this.#expire, this.#timeoutMs);
    });
  }

  /** Unsubscribes and stops the timer; publishes still pending fail as closed. */
  close(): void {
    this.#status.stop?.();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#failAll(new ClosedConnectionError());
    if (!this.#sub.isClosed()) this.#sub.unsubscribe();
  }

  #onReply(err: Error | null, msg: Msg): void {
    if (err !== null) {
      this.#failAll(err);
      return;
    }
    const n = Number(msg.subject.slice(this.#prefix.length));
    const p = this.#pending.get(n);
    // Late (already timed out and retried) or not ours: nothing waits for it.
    if (p === undefined) return;
    this.#pending.delete(n);
    try {
      p.resolve(parseAck(p.subject, msg));
    } catch (e) {
      p.reject(e);
    }
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const [n, p] of this.#pending) {
      if (p.deadline > now) {
        this.#timer = setTimeout(this.#expire, p.deadline - now);
        return;
      }
      this.#pending.delete(n);
      p.reject(new TimeoutError());
    }
  };

  #failAll(err: unknown): void {
    this.#state = "ended";
    this.#broken ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** A SUB the server refused: `-ERR` for a permission or the connection's subscription limit. */
function refusesSubscription(err: Error): boolean {
  if (err instanceof PermissionViolationError) return err.operation === "subscription";
  return /maximum subscriptions exceeded/i.test(err.message);
}

/** A reply to a JetStream publish, read the way nats.js's `js.publish` reads it. */
function parseAck(subject: string, msg: Msg): PublishAck {
  if (msg.data.length === 0) {
    // A status-only reply: 503 is "no responders" (no stream, or its leader is being elected).
    const code = msg.headers?.code ?? 0;
    if (code === 503) {
      throw new RequestError("no responders", { cause: new NoRespondersError(subject) });
    }
    throw new RequestError(msg.headers?.description || `status ${code}`);
  }
  const v = JSON.parse(decoder.decode(msg.data)) as {
    stream?: string;
    seq?: number;
    duplicate?: boolean;
    error?: { code: number; err_code: number; description: string };
  };
  if (v.error !== undefined) throw new JetStreamApiError(v.error);
  if (!v.stream) throw new JetStreamError("invalid ack response");
  return { stream: v.stream, seq: v.seq as number, duplicate: v.duplicate === true };
}
