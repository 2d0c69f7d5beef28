import type { RouteObserver } from "../observe/index.js";
import type { Context, Message, Outcome } from "../router/types.js";
import type { HandlerResult, InlineHandlerRuntime } from "../runtime/index.js";
import {
  encodeReply,
  errorReply,
  NULL_REPLY,
  type Reply,
  ReplyCode,
  replyForError,
} from "./reply.js";
import type { CoreRouteSpec } from "./runner.js";
import type { StatsCounter } from "./stats.js";

/** What {@link handleResult} needs besides the message: the same for every message of a run. */
export interface ResultScope {
  readonly spec: CoreRouteSpec;
  readonly ctx: Context;
  readonly stats: StatsCounter;
  /** Reports failures found after the handler (an unencodable reply) like handler errors. */
  readonly runtime: InlineHandlerRuntime;
  /** Observes each message (metrics, traces, service stats); undefined when nothing does. */
  readonly observer?: RouteObserver | undefined;
}

const SHUTTING_DOWN: Reply = Object.freeze(errorReply(ReplyCode.Unavailable, "shutting down"));

// Plain switches rather than ts-pattern's match(): this runs once per message, and match()
// builds a matcher object and closures per call (about 9% of a fan-out route's CPU in a
// profile). `satisfies never` in each default keeps the compile-time exhaustiveness check.

/**
 * Settles one handler result and returns the reply a request route sends (queue and fan-out
 * routes ignore it). Handler errors were already reported by the runtime.
 */
export function handleResult(result: HandlerResult, msg: Message, scope: ResultScope): Reply {
  switch (result.kind) {
    case "value":
      if (scope.spec.kind !== "request" || result.value === undefined) return NULL_REPLY;
      try {
        return { kind: "data", data: encodeReply(result.value) };
      } catch (err) {
        scope.runtime.report(err, msg, scope.ctx);
        return failed(err, scope);
      }
    case "outcome":
      return outcomeReply(result.outcome, msg, scope);
    case "error":
      return failed(result.error, scope);
    case "interrupted":
      return SHUTTING_DOWN;
    default:
      return result satisfies never;
  }
}

function outcomeReply(outcome: Outcome, msg: Message, scope: ResultScope): Reply {
  switch (outcome.kind) {
    case "ack":
      return NULL_REPLY;
    case "retry":
      if (scope.spec.kind !== "request") {
        scope.ctx.logger.warn(
          { subject: msg.subject },
          "retry() on a core route: core NATS cannot redeliver, message dropped",
        );
      }
      return errorReply(ReplyCode.Unavailable, "retry requested; core NATS has no redelivery");
    case "reject":
      scope.ctx.logger.warn(
        { subject: msg.subject, reason: outcome.reason, code: outcome.code },
        "message rejected",
      );
      return errorReply(outcome.code, outcome.reason, outcome.issues);
    default:
      return outcome satisfies never;
  }
}

function failed(err: unknown, { stats }: ResultScope): Reply {
  stats.failed++;
  return replyForError(err);
}
