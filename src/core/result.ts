import { match } from "ts-pattern";
import type { HandlerResult } from "../router/index.js";
import type { Context, Message } from "../router/types.js";
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

/** What {@link handleResult} needs to know about the message it settles. */
export interface ResultScope {
  readonly spec: CoreRouteSpec;
  readonly msg: Message;
  readonly ctx: Context;
  readonly stats: StatsCounter;
}

/**
 * Settles one handler result: logs and reports errors, and returns the reply a request route
 * sends (queue and fan-out routes ignore it).
 */
export function handleResult(result: HandlerResult, scope: ResultScope): Reply {
  return match(result)
    .with({ kind: "error" }, ({ error }) => failed(error, scope))
    .with({ kind: "value" }, ({ value }) => {
      if (scope.spec.kind !== "request") return NULL_REPLY;
      try {
        return { kind: "data", data: encodeReply(value) } as const;
      } catch (err) {
        return failed(err, scope);
      }
    })
    .with({ kind: "outcome" }, ({ outcome }) =>
      match(outcome)
        .with({ kind: "ack" }, () => NULL_REPLY)
        .with({ kind: "retry" }, () => {
          if (scope.spec.kind !== "request") {
            scope.ctx.logger.warn(
              { subject: scope.msg.subject },
              "retry() on a core route: core NATS cannot redeliver, message dropped",
            );
          }
          return errorReply(ReplyCode.Unavailable, "retry requested; core NATS has no redelivery");
        })
        .with({ kind: "reject" }, ({ reason, code }) => {
          scope.ctx.logger.warn({ subject: scope.msg.subject, reason, code }, "message rejected");
          return errorReply(code, reason);
        })
        .exhaustive(),
    )
    .exhaustive();
}

function failed(err: unknown, { spec, msg, ctx, stats }: ResultScope): Reply {
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
