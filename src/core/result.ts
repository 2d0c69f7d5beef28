import type { HandlerResult } from "../router/index.js";
import type { Context, Message, Outcome } from "../router/types.js";
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
}

// Plain switches rather than ts-pattern's match(): this runs once per message, and match()
// builds a matcher object and closures per call (about 9% of a fan-out route's CPU in a
// profile). `satisfies never` in each default keeps the compile-time exhaustiveness check.

/**
 * Settles one handler result: logs and reports errors, and returns the reply a request route
 * sends (queue and fan-out routes ignore it).
 */
export function handleResult(result: HandlerResult, msg: Message, scope: ResultScope): Reply {
  switch (result.kind) {
    case "value":
      if (scope.spec.kind !== "request") return NULL_REPLY;
      try {
        return { kind: "data", data: encodeReply(result.value) };
      } catch (err) {
        return failed(err, msg, scope);
      }
    case "outcome":
      return outcomeReply(result.outcome, msg, scope);
    case "error":
      return failed(result.error, msg, scope);
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
      return errorReply(outcome.code, outcome.reason);
    default:
      return outcome satisfies never;
  }
}

function failed(err: unknown, msg: Message, { spec, ctx, stats }: ResultScope): Reply {
  stats.failed++;
  ctx.logger.error({ err, subject: msg.subject }, "handler failed");
  if (spec.onError) {
    try {
      spec.onError(err, msg, ctx);
    } catch (hookErr) {
      // A broken hook must not take the route down; it is the user's bug to see in the log.
      ctx.logger.error({ err: hookErr }, "onError hook threw");
    }
  }
  return replyForError(err);
}
