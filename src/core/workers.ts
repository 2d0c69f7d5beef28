import type { Msg } from "@nats-io/nats-core";
import type { Logger } from "../logger/index.js";
import { fromCoreMsg } from "../message/index.js";
import type { Message } from "../router/types.js";
import type { HandlerResult } from "../runtime/index.js";
import { arrivalNow } from "./clock.js";
import { PendingQueue } from "./pending.js";
import { type Reply, sendReply } from "./reply.js";
import { handleResult, type ResultScope } from "./result.js";

/**
 * A worker's hold on the message it runs: the request it must answer at most once, by its
 * handler or by the end of the grace period. One per worker, reused for every message.
 */
interface Slot {
  /** The message being handled; undefined while the worker is idle. */
  raw: Msg | undefined;
  answered: boolean;
}

/**
 * The bounded workers of one core route run: at most `spec.concurrency` handlers at once, the
 * other accepted messages waiting in arrival order. Replaces p-limit on this hot path: a free
 * worker starts the handler inside the subscription callback, and a busy worker takes the next
 * waiting message itself when its handler settles, so a message costs no promise, closure or
 * queue node beyond its handler's own.
 */
export class CoreWorkers {
  readonly #scope: ResultScope;
  readonly #logger: Logger;
  readonly #concurrency: number;
  readonly #isRequest: boolean;
  /** Every slot made so far (at most `concurrency`), busy or not. */
  readonly #slots: Slot[] = [];
  readonly #idleSlots: Slot[] = [];
  /** Workers running; messages wait in #pending only while all `concurrency` are. */
  #busy = 0;
  readonly #pending = new PendingQueue();
  /** Called each time the last busy worker goes idle (nothing accepted is left). */
  onIdle: (() => void) | undefined;

  /** `logger` is the route's; `scope` carries the spec, handler context, stats and runtime. */
  constructor(scope: ResultScope, logger: Logger) {
    this.#scope = scope;
    this.#logger = logger;
    this.#concurrency = scope.spec.concurrency;
    this.#isRequest = scope.spec.kind === "request";
  }

  /** Messages accepted and not finished: running plus waiting. */
  get accepted(): number {
    return this.#busy + this.#pending.size;
  }

  /** Runs `raw`'s handler now if a worker is free, else queues it (the caller bounds the queue). */
  accept(raw: Msg): void {
    if (this.#busy === this.#concurrency) {
      this.#pending.push(raw, arrivalNow());
      return;
    }
    // A free worker means nothing is waiting: workers drain the queue before they idle.
    this.#busy++;
    const slot = this.#idleSlots.pop() ?? this.#newSlot();
    slot.raw = raw;
    slot.answered = false;
    // #work settles every error itself, so its promise never rejects.
    void this.#work(slot, fromCoreMsg(raw, arrivalNow()));
  }

  /**
   * Gives up on every accepted message: requests not answered yet get `reply`, waiting messages
   * are forgotten (running handlers keep their workers until they return, unanswered). Returns
   * how many messages were accepted.
   */
  abandon(reply: Reply): number {
    const left = this.accepted;
    if (this.#isRequest) {
      for (const slot of this.#slots) this.#answer(slot, reply);
      this.#pending.forEach((raw) => {
        sendReply(raw, reply);
      });
    }
    this.#pending.clear();
    return left;
  }

  #newSlot(): Slot {
    const slot: Slot = { raw: undefined, answered: false };
    this.#slots.push(slot);
    return slot;
  }

  /**
   * One worker: runs `msg`'s handler to its answer, then each waiting message in turn, then
   * idles. A loop rather than a task per message. Never rejects (see the last-guard catch).
   */
  async #work(slot: Slot, msg: Message): Promise<void> {
    const scope = this.#scope;
    const { runtime, ctx, stats } = scope;
    for (;;) {
      try {
        let result: HandlerResult;
        stats.inFlight++;
        try {
          // The runtime's run(), inlined: one async frame and promise fewer per message.
          result = runtime.returned(await runtime.pipeline(msg, ctx), msg, ctx);
        } catch (error) {
          result = runtime.threw(error, msg, ctx);
        } finally {
          stats.inFlight--;
        }
        stats.handled++;
        const reply = handleResult(result, msg, scope);
        if (this.#isRequest) this.#answer(slot, reply);
      } catch (err) {
        // Handler errors are caught above and handleResult catches its own; a last guard only.
        this.#logger.error({ err }, "core route worker failed");
      }
      const next = this.#pending.take();
      if (next === undefined) break;
      msg = fromCoreMsg(next, this.#pending.takenArrival);
      slot.raw = next;
      slot.answered = false;
    }
    slot.raw = undefined;
    this.#idleSlots.push(slot);
    if (--this.#busy === 0) this.onIdle?.();
  }

  #answer(slot: Slot, reply: Reply): void {
    const raw = slot.raw;
    if (slot.answered || raw === undefined) return;
    slot.answered = true;
    if (!sendReply(raw, reply)) {
      this.#logger.warn({ subject: raw.subject }, "reply could not be sent");
    }
  }
}
