import type { Connection } from "../conn/types.js";
import { ErrConsumerLost, ErrPullRejected } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { PULL } from "./lifecycle.js";
import type { PullEvent } from "./pull.js";
import { probeConsumer } from "./recover.js";
import { streamNotFound } from "./stream-checks.js";

/** What the supervisor asks of the engine. */
export interface SupervisorActions {
  /** The consumer is gone: end the session and recreate it. */
  lost(): void;
  /** End the session and provision again (re-reading the durable's limits). */
  recover(): void;
  fail(err: unknown): void;
}

/**
 * Turns what the pull session reports into engine actions: a deleted or missing consumer is
 * recreated (or fails the route, per `withOnConsumerLost`); missing heartbeats probe the
 * consumer and, every few beats, the TCP flow; rejected pulls re-read the durable, and fail the
 * route with ErrPullRejected when they keep coming.
 */
export class PullSupervisor {
  readonly #conn: Connection;
  readonly #spec: JetStreamRouteSpec;
  readonly #log: Logger;
  readonly #act: SupervisorActions;
  /** Pull rejections since the last message. */
  #rejections = 0;
  /** The silent-beat count at the last flow check (0: none in this silence). */
  #flowCheckedAt = 0;

  constructor(conn: Connection, spec: JetStreamRouteSpec, log: Logger, act: SupervisorActions) {
    this.#conn = conn;
    this.#spec = spec;
    this.#log = log;
    this.#act = act;
  }

  /** A message arrived: pulls work again. */
  served(): void {
    this.#rejections = 0;
  }

  onPullEvent(e: PullEvent): void {
    switch (e.kind) {
      case "consumer-deleted":
        this.#consumerLost("consumer deleted");
        return;
      case "no-responders":
        void this.#probe();
        return;
      case "heartbeats-missed":
        this.#log.warn({ silentBeats: e.silentBeats }, "pull heartbeats missed; pulling again");
        // Again every other beat: a probe made while disconnected learns nothing, and on 2.9 a
        // pull for a consumer deleted meanwhile is dropped without a word.
        if (e.silentBeats % 2 === 0) void this.#probe();
        // Events come every other beat (a re-issued pull gets two): check the flow at the
        // first event past `reconnectAfterBeats` beats since the last check.
        if (e.silentBeats < this.#flowCheckedAt) this.#flowCheckedAt = 0;
        if (e.silentBeats - this.#flowCheckedAt >= PULL.reconnectAfterBeats) {
          this.#flowCheckedAt = e.silentBeats;
          void this.#checkFlow();
        }
        return;
      case "rejected":
        this.#rejected(e.code, e.description);
        return;
    }
  }

  #probing: Promise<void> | undefined;

  #probe(): Promise<void> {
    this.#probing ??= this.#probeOnce().finally(() => {
      this.#probing = undefined;
    });
    return this.#probing;
  }

  async #probeOnce(): Promise<void> {
    if (this.#conn.nats.isClosed()) return;
    const jsm = await this.#conn.jetstreamManager().catch(() => undefined);
    if (jsm === undefined) return;
    const presence = await probeConsumer(jsm, this.#spec);
    if (presence === "consumer-gone") this.#consumerLost("consumer not found");
    else if (presence === "stream-gone") this.#act.fail(streamNotFound(this.#spec));
  }

  #consumerLost(why: string): void {
    const { stream, durable, name, onConsumerLost } = this.#spec;
    if (onConsumerLost === "fail") {
      this.#act.fail(
        new ErrConsumerLost(
          `consumer "${durable}" on stream "${stream}" of route "${name}" is gone (${why})`,
        ),
      );
      return;
    }
    this.#log.warn({ stream, durable, why }, "consumer lost; recreating it");
    this.#act.lost();
  }

  /**
   * Heartbeats stay missing on fresh pulls. A dead stream or consumer leader does that too, so
   * first ask the server for a PONG: only a flow that does not answer (dead while the socket
   * looks open) is dropped and dialled again.
   */
  async #checkFlow(): Promise<void> {
    const conn = this.#conn;
    if (conn.nats.isClosed() || (await conn.health()).connected) return;
    this.#log.warn({}, "no pull heartbeats and no PONG: the TCP flow is dead; reconnecting");
    await conn.reconnect().catch((err: unknown) => this.#log.debug({ err }, "reconnect failed"));
  }

  #rejected(code: number, description: string): void {
    this.#rejections++;
    this.#log.warn({ code, description }, "pull request rejected");
    if (code === 409 && this.#rejections < PULL.maxRejections) {
      // A limit changed under the route (max_batch, max_expires): re-read it, pull within it.
      this.#act.recover();
      return;
    }
    const { durable, stream, name } = this.#spec;
    this.#act.fail(
      new ErrPullRejected(
        `route "${name}": the server refused pulls from "${durable}" on "${stream}" (${code} ${description}); check the durable's max_batch / max_expires / max_waiting and that it is a pull consumer`,
      ),
    );
  }
}
