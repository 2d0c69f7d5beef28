import { type ConsumerInfo, type JetStreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { type ConsumerConflict, ErrConsumerConfigConflict } from "../errors/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { checkConsumer, describeChange, type StreamFacts } from "./contract.js";
import { create, type ProvisionContext, type Provisioned, pullLimits } from "./provision.js";
import { isConsumerNotFound } from "./stream-checks.js";

/** Provisioning an existing durable: the stream it is on, and whether a lost race may retry. */
export interface ReconcileContext extends ProvisionContext {
  readonly stream: StreamFacts;
  readonly lastTry: boolean;
}

/**
 * Brings an existing durable to the route's contract: warns about what the route runs with
 * regardless, updates the owned settings (one `consumers.update`, each change logged
 * `old -> new`), and settles conflicts (recreateOrFail). Undefined when the durable vanished
 * under the update (another instance re-created it): the caller reads it again.
 */
export async function reconcile(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  info: ConsumerInfo,
  ctx: ReconcileContext,
): Promise<Provisioned | undefined> {
  const check = checkConsumer(info.config, spec, ctx.server, ctx.stream);
  for (const warning of check.warnings) {
    ctx.logger.warn({ stream: spec.stream, durable: spec.durable }, warning);
  }
  const [conflict, ...more] = check.conflicts;
  if (conflict !== undefined) return recreateOrFail(jsm, spec, [conflict, ...more], ctx);
  const ackFloor = info.ack_floor.stream_seq;
  if (check.changes.length === 0) {
    return {
      result: "unchanged",
      ackFloor,
      info,
      limits: pullLimits(info.config),
      stream: ctx.stream,
    };
  }
  let updated: ConsumerInfo;
  try {
    updated = await jsm.consumers.update(spec.stream, spec.durable, check.update);
  } catch (cause) {
    if (!ctx.lastTry && isConsumerNotFound(cause)) return undefined;
    throw cause;
  }
  ctx.logger.info(
    {
      stream: spec.stream,
      durable: spec.durable,
      changes: check.changes.map(describeChange),
    },
    "consumer updated",
  );
  return {
    result: "updated",
    ackFloor,
    info: updated,
    limits: pullLimits(updated.config),
    stream: ctx.stream,
  };
}

/**
 * A durable the route cannot run with. Re-created only at start, with
 * `withOnConsumerConflict("recreate")`, and never on an interest stream (deleting its only
 * consumer lets the server drop every stored message). Otherwise ErrConsumerConfigConflict, with
 * the way out that fits the stream's retention.
 */
async function recreateOrFail(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  conflicts: [ConsumerConflict, ...ConsumerConflict[]],
  ctx: ReconcileContext,
): Promise<Provisioned | undefined> {
  const recovering = ctx.deliver !== undefined;
  const { retention } = ctx.stream;
  const refuse = (first: ConsumerConflict) =>
    new ErrConsumerConfigConflict(spec.name, spec.stream, spec.durable, [
      first,
      ...conflicts.slice(1),
    ]);
  const [first] = conflicts;
  if (spec.onConsumerConflict === "fail" || recovering) {
    throw refuse(
      retention === RetentionPolicy.Workqueue ? { fix: workQueueFix(spec), ...first } : first,
    );
  }
  if (retention === RetentionPolicy.Interest) throw refuse({ ...first, fix: interestFix(spec) });
  ctx.logger.warn(
    { err: refuse(first), durable: spec.durable },
    "re-creating the durable consumer (withOnConsumerConflict)",
  );
  await jsm.consumers.delete(spec.stream, spec.durable).catch((cause: unknown) => {
    if (!isConsumerNotFound(cause)) throw cause;
  });
  return create(jsm, spec, ctx, ctx.stream, "start", ctx.lastTry, "recreated");
}

function workQueueFix(spec: JetStreamRouteSpec): string {
  return (
    `a work-queue stream allows one consumer per subject, so a new durable is refused while this one exists: ` +
    `let the route re-create it with withOnConsumerConflict("recreate") (the stream keeps every unacknowledged ` +
    `message, so nothing is lost), or drain and delete it first (nats consumer rm ${spec.stream} ${spec.durable})`
  );
}

function interestFix(spec: JetStreamRouteSpec): string {
  return (
    `withOnConsumerConflict("recreate") is refused on interest stream "${spec.stream}": deleting the durable ` +
    `would let the server drop the messages stored for it. Consume with a new durable (withDurable) first, ` +
    `then delete this one once nothing depends on it`
  );
}
