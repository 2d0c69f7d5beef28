import type { Msg } from "@nats-io/nats-core";
import { causeText } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import { fromCoreMsg } from "../message/index.js";
import type { MessageObservation } from "../observe/index.js";
import type { Message } from "../router/types.js";
import { type HandlerResult, RETURNED_NOTHING } from "../runtime/index.js";
import { arrivalNow } from "./clock.js";
import { observed, observeResult } from "./observed.js";
import { PendingQueue } from "./pending.js";
import { errorReply, type Reply, ReplyCode, sendReply, trySendReply } from "./reply.js";
import { handleResult, type ResultScope } from "./result.js";

type Settle = (worker: Worker, outcome: unknown, threw: boolean) => void;

/**
 * One worker: the message it runs (a request it answers at most once, by its handler or by the
 * end of the grace period) and the two callbacks its handler's promise settles into, made once
 * per worker so that a message costs no closure.
 */
class Worker {
  /** The message being handled; undefined while the worker is idle. */
  raw: Msg | undefined = undefined;
  msg: Message | undefined = undefined;
  /** The reply sent for the request (its error reply when that failed); undefined until then. */
  answered: Reply | undefined = undefined;
  /** The message's observation (metrics, traces), when the route is observed. */
  obs: MessageObservation | undefined = undefined;
  readonly onReturn: (value: unknown) => void;
  readonly onThrow: (error: unknown) => void;

  constructor(settle: Settle) {
    this.onReturn = (value) => settle(this, value, false);
    this.onThrow = (error) => settle(this, error, true);
  }
}

/**
 * The bounded workers of one core route run: at most `spec.concurrency` handlers at once, the
 * other accepted messages waiting in arrival order. Replaces p-limit on this hot path: a free
 * worker starts the handler inside the subscription callback, and a worker whose handler
 * settles takes the next waiting message itself, so a message costs one `then` on its
 * handler's promise and no task, closure or queue node of its own.
 */
export class CoreWorkers {
  readonly #scope: ResultScope;
  readonly #logger: Logger;
  readonly #concurrency: number;
  readonly #isRequest: boolean;
  readonly #settle: Settle = (worker, outcome, threw) => this.#settled(worker, outcome, threw);
  /** Every worker made so far (at most `concurrency`), busy or not. */
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  /** Workers running; messages wait in #pending only while all `concurrency` are. */
  #busy = 0;
  /** "abandoned" once the grace ended: handlers settling after that were interrupted. */
  #state: "working" | "abandoned" = "working";
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
    const worker = this.#idle.pop() ?? this.#newWorker();
    this.#start(worker, raw, fromCoreMsg(raw, arrivalNow()));
  }

  /**
   * Call when the grace ended, right after aborting the handlers' signal. Gives up on every
   * accepted message: requests not answered yet get `reply`, waiting messages are forgotten
   * (running handlers keep their workers until they return; what they return is interrupted).
   * Returns how many messages were accepted.
   */
  abandon(reply: Reply): number {
    this.#state = "abandoned";
    const left = this.accepted;
    if (this.#isRequest) {
      for (const worker of this.#workers) this.#answer(worker, reply);
      this.#pending.forEach((raw) => {
        sendReply(raw, reply);
      });
    }
    this.#pending.clear();
    return left;
  }

  #newWorker(): Worker {
    const worker = new Worker(this.#settle);
    this.#workers.push(worker);
    return worker;
  }

  /** Calls the pipeline; the handler's promise settles into the worker's callbacks. */
  #start(worker: Worker, raw: Msg, msg: Message): void {
    worker.raw = raw;
    worker.msg = msg;
    worker.answered = undefined;
    const { runtime, ctx, stats, observer } = this.#scope;
    stats.inFlight++;
    let settled: Promise<unknown>;
    try {
      const obs = observer?.begin(observed(raw));
      worker.obs = obs;
      // The runtime's run(), inlined as callbacks: a `then` with callbacks made once per
      // worker measured ~9 ns per message less than an async frame awaiting the handler.
      const returned =
        obs === undefined ? runtime.pipeline(msg, ctx) : obs.within(runtime.pipeline, msg, ctx);
      settled = returned instanceof Promise ? returned : Promise.resolve(returned);
    } catch (error) {
      // A plain function handler threw before returning: settle it like a rejection, a
      // microtask later, so a run of synchronous failures cannot recurse.
      settled = Promise.reject(error);
    }
    settled.then(worker.onReturn, worker.onThrow);
  }

  /** The handler settled: classify, answer, then take the next waiting message or idle. */
  #settled(worker: Worker, outcome: unknown, threw: boolean): void {
    const scope = this.#scope;
    const msg = worker.msg as Message;
    const obs = worker.obs;
    worker.obs = undefined;
    obs?.handled();
    try {
      const { runtime, ctx, stats } = scope;
      stats.inFlight--;
      let result: HandlerResult;
      if (threw) {
        result = runtime.threw(outcome, msg, ctx);
      } else if (outcome === undefined && this.#state === "working") {
        // What returned() gives before the grace ends, known here without reading the grace
        // signal: the run aborts that signal and abandons this pool in one step. Asking the
        // runtime for the common case measured ~5% of a fan-out route's rate.
        result = RETURNED_NOTHING;
      } else {
        try {
          result = runtime.returned(outcome, msg, ctx);
        } catch (error) {
          result = runtime.threw(error, msg, ctx);
        }
      }
      stats.handled++;
      // Queue and fan-out routes have nothing to do for a handler that returned nothing.
      const reply =
        this.#isRequest || result !== RETURNED_NOTHING
          ? handleResult(result, msg, scope)
          : undefined;
      if (this.#isRequest && reply !== undefined) this.#answer(worker, reply);
      // What the caller got: a request answered at the end of the grace got a 503 then.
      if (obs !== undefined) observeResult(obs, result, this.#isRequest ? worker.answered : reply);
    } catch (err) {
      // Handler errors are classified above and handleResult catches its own; a last guard,
      // which also keeps the promise `then` returned from ever rejecting.
      this.#logger.error({ err }, "core route worker failed");
    }
    const next = this.#pending.take();
    if (next !== undefined) {
      this.#start(worker, next, fromCoreMsg(next, this.#pending.takenArrival));
      return;
    }
    worker.raw = undefined;
    worker.msg = undefined;
    this.#idle.push(worker);
    if (--this.#busy === 0) this.onIdle?.();
  }

  /**
   * Sends `reply` unless the request was answered already. A reply the connection refuses (a
   * body over the server's max_payload) is replaced by a 500 error reply, so the caller hears
   * why instead of waiting for its timeout, and the request counts as failed.
   */
  #answer(worker: Worker, reply: Reply): void {
    const raw = worker.raw;
    if (worker.answered !== undefined || raw === undefined) return;
    worker.answered = reply;
    const failure = trySendReply(raw, reply);
    if (failure === undefined) return;
    this.#logger.warn({ subject: raw.subject, err: failure }, "reply could not be sent");
    if (reply.kind !== "data") return;
    const instead = errorReply(
      ReplyCode.Internal,
      `reply of ${reply.data.length} bytes could not be sent: ${causeText(failure)}`,
    );
    worker.answered = instead;
    sendReply(raw, instead);
  }
}
