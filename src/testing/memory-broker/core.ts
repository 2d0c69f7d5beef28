// Core NATS routes: fan-out and queue routes get core publishes (one route per queue group),
// request-reply routes answer requests; none of them is stored or redelivered.
import type { MsgHdrs } from "@nats-io/nats-core";
import { CoreStatsCounter, handleResult } from "../../core/index.js";
import { ErrNoResponders } from "../../errors/index.js";
import type { Logger } from "../../logger/index.js";
import type {
  Context,
  FanOutRouteSpec,
  Message,
  QueueRouteSpec,
  RequestRouteSpec,
  RouteSpec,
} from "../../router/types.js";
import type { InlineHandlerRuntime } from "../../runtime/index.js";
import { subjectMatches } from "../../subject/index.js";
import { encodeTestData, testHeaders, testMessageView } from "../message.js";
import { type TestReply, testReply } from "../run-handler.js";
import type { BrokerState, ContextOf } from "./state.js";
import type { MemoryPublishOptions } from "./types.js";

interface Running<S> {
  readonly spec: S;
  readonly runtime: InlineHandlerRuntime;
}

export class CoreRoutes {
  readonly #state: BrokerState;
  readonly #logger: Logger;
  readonly #context: ContextOf;
  /** Called when a core handler finishes (the broker may be idle now). */
  readonly #finished: () => void;
  readonly #requests: Running<RequestRouteSpec>[] = [];
  readonly #core: Running<QueueRouteSpec | FanOutRouteSpec>[] = [];

  constructor(state: BrokerState, logger: Logger, context: ContextOf, finished: () => void) {
    this.#state = state;
    this.#logger = logger;
    this.#context = context;
    this.#finished = finished;
  }

  /** Keeps a request, queue or fan-out route; other kinds are not core routes. */
  add(spec: RouteSpec, runtime: InlineHandlerRuntime): void {
    if (spec.kind === "request") this.#requests.push({ spec, runtime });
    if (spec.kind === "queue" || spec.kind === "fanout") this.#core.push({ spec, runtime });
  }

  /** Runs the core routes a core message on `subject` reaches: every fan-out, one per queue group. */
  deliver(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void {
    if (this.#state.phase !== "running") return;
    const groups = new Set<string>();
    for (const r of this.#core) {
      if (!subjectMatches(r.spec.subject, subject)) continue;
      if (r.spec.kind === "queue") {
        if (groups.has(r.spec.queueGroup)) continue;
        groups.add(r.spec.queueGroup);
      }
      const msg = this.#message(r.spec, subject, data, headers);
      const ctx = this.#ctx(r.spec);
      this.#state.coreRunning++;
      void r.runtime.run(msg, ctx).then((result) => {
        // Errors were logged and passed to onError by the runtime; nothing is sent back.
        handleResult(result, msg, {
          spec: r.spec,
          ctx,
          stats: new CoreStatsCounter(),
          runtime: r.runtime,
        });
        this.#state.coreRunning--;
        this.#finished();
      });
    }
  }

  /** The reply of the request-reply route on `subject` (`subject` already checked). */
  async request(subject: string, data: unknown, options: MemoryPublishOptions): Promise<TestReply> {
    // As on NATS: nobody answers while the routes are not running.
    const r =
      this.#state.phase === "running"
        ? this.#requests.find((q) => subjectMatches(q.spec.subject, subject))
        : undefined;
    if (r === undefined) throw new ErrNoResponders(`no responders for "${subject}"`);
    const bytes = encodeTestData(data, "data");
    const msg = this.#message(
      r.spec,
      subject,
      bytes,
      testHeaders(options?.headers, "options.headers"),
    );
    const ctx = this.#ctx(r.spec);
    const result = await r.runtime.run(msg, ctx);
    const stats = new CoreStatsCounter();
    return testReply(handleResult(result, msg, { spec: r.spec, ctx, stats, runtime: r.runtime }));
  }

  /** A core message as the route's handler sees it: always a first delivery. */
  #message(
    spec: RouteSpec,
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
  ): Message {
    const raw = {
      subject,
      data,
      headers,
      deliveryCount: 1,
      streamSequence: 1,
      timestamp: this.#state.clock.now(),
    };
    return testMessageView(spec, raw);
  }

  #ctx(spec: RouteSpec): Context {
    return this.#context(spec.name, this.#logger.child({ route: spec.name }));
  }
}
