import type { JsMsg } from "@nats-io/jetstream";
import type { Msg } from "@nats-io/nats-core";
import type { Connection } from "../conn/types.js";
import {
  backoffDelay,
  decideSettlement,
  LazyChildLogger,
  type Settlement,
  storeDeadLetter,
} from "../consumer/index.js";
import type { Logger } from "../logger/index.js";
import { fromJetStream, type JetStreamDelivery } from "../message/index.js";
import type { Producer } from "../producer/types.js";
import type { Context, JetStreamRouteSpec } from "../router/types.js";
import type { HandlerResult, InlineHandlerRuntime } from "../runtime/index.js";
import type { SchemaIssue } from "../schema/issues.js";

/** What became of one replayed message. */
export type Verdict = "handled" | "dead-lettered" | "failed" | "interrupted" | "skipped";

/** What handling a replayed message needs; one per replay. */
export interface HandleDeps {
  readonly conn: Connection;
  readonly spec: JetStreamRouteSpec;
  /** The route's spec as dead letters name it: its durable marked `@replay`. */
  readonly deadLetterSpec: JetStreamRouteSpec;
  readonly runtime: InlineHandlerRuntime;
  readonly producer: Producer;
  readonly logger: Logger;
  /** Handlers' `ctx.signal`: aborted (ErrShutdownTimeout) when the replay is aborted. */
  readonly signal: AbortSignal;
}

/** Attempts to store a dead letter whose publish failed for a transient reason. */
const DEAD_LETTER_ATTEMPTS = 3;

/**
 * Runs one message through the route's pipeline and settlement table, in process: `ack` ->
 * handled; `nak(delay)` -> run again after the delay with the delivery count one higher, until
 * the table says dead-letter (the route's maxDeliver); dead-letter -> stored in the route's DLQ,
 * or, with none (or when it cannot be stored), failed and logged. Never rejects.
 */
export async function handleReplayed(m: JsMsg, deps: HandleDeps): Promise<Verdict> {
  const a = attempt(m, 1, deps);
  return settleReplayed(m, 1, await a.settlement(), deps, a.log);
}

/** One run of the pipeline: its logger, and the settlement the table gives its result. */
export interface Attempt {
  readonly log: Logger;
  settlement(): Promise<Settlement>;
}

/**
 * Runs the pipeline once with delivery count `count`. The replay loop awaits `settlement()`
 * inline and calls {@link settleReplayed} only when it is not an ack: one async frame per
 * message fewer on the common path.
 */
export function attempt(m: JsMsg, count: number, deps: HandleDeps): Attempt {
  const { spec, runtime: rt } = deps;
  const log = new LazyChildLogger(deps.logger, m.info.streamSequence, count);
  const msg = fromJetStream(new Replayed(m, count));
  const ctx: Context = {
    signal: deps.signal,
    logger: log,
    route: spec.name,
    producer: deps.producer,
  };
  return {
    log,
    async settlement() {
      let result: HandlerResult;
      try {
        result = rt.returned(await rt.pipeline(msg, ctx), msg, ctx);
      } catch (error) {
        result = rt.threw(error, msg, ctx);
      }
      return decideSettlement(result, count, spec, log);
    },
  };
}

/** Applies the settlement of attempt `count`: retries in process until a final verdict. */
export async function settleReplayed(
  m: JsMsg,
  count: number,
  first: Settlement,
  deps: HandleDeps,
  firstLog: Logger,
): Promise<Verdict> {
  let s = first;
  let log = firstLog;
  for (let n = count; ; n++) {
    switch (s.kind) {
      case "ack":
        return "handled";
      case "release":
        return "interrupted";
      case "dead-letter":
        return deadLetter(m, s, n, deps, log);
      // Inbox verdicts: a replay runs its handlers without the route's inbox.
      case "skip":
        return "handled";
      case "nak": {
        if (!(await sleep(s.delayMs, deps.signal))) return "interrupted";
        const next = attempt(m, n + 1, deps);
        log = next.log;
        s = await next.settlement();
      }
    }
  }
}

async function deadLetter(
  m: JsMsg,
  settlement: { readonly reason: string; readonly issues?: readonly SchemaIssue[] },
  deliveryCount: number,
  deps: HandleDeps,
  log: Logger,
): Promise<Verdict> {
  const { spec } = deps;
  const { reason, issues } = settlement;
  if (spec.dlq === undefined) {
    log.error({ reason }, "replayed message failed (route has no DLQ)");
    return "failed";
  }
  const source = {
    subject: m.subject,
    data: m.data,
    headers: m.headers,
    stream: spec.stream,
    seq: m.info.streamSequence,
    deliveryCount,
  };
  const store = { conn: deps.conn, spec: deps.deadLetterSpec, logger: log };
  for (let attempt = 1; ; attempt++) {
    const result = await storeDeadLetter(source, reason, store, issues);
    if (result.kind === "stored") {
      log.warn(
        { reason, dlq: spec.dlq, truncated: result.truncated },
        "replayed message dead-lettered",
      );
      return "dead-lettered";
    }
    const last = result.kind === "failed" || attempt === DEAD_LETTER_ATTEMPTS;
    if (last) {
      log.error(
        { reason, err: result.error, dlq: spec.dlq },
        "replayed message failed; dead letter not stored",
      );
      return "failed";
    }
    if (!(await sleep(backoffDelay(spec, attempt, log), deps.signal))) return "failed";
  }
}

/** Waits `ms`; false when `signal` aborted first. Leaves no timer or listener behind. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A replayed message as the handler's Message is built from: the delivery count is the
 * replay's own attempt count (the ordered consumer delivers each message once).
 */
class Replayed implements JetStreamDelivery {
  readonly msg: Msg;
  readonly seq: number;
  readonly deliveryCount: number;
  readonly #m: JsMsg;

  constructor(m: JsMsg, deliveryCount: number) {
    // fromJetStream reads only subject, data and headers of `msg`, which a JsMsg has too.
    this.msg = m as unknown as Msg;
    this.#m = m;
    this.seq = m.info.streamSequence;
    this.deliveryCount = deliveryCount;
  }

  get timestampNanos(): string {
    return String(this.#m.info.timestampNanos);
  }
}
