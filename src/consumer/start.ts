import { type ConsumerConfig, DeliverPolicy, RetentionPolicy } from "@nats-io/jetstream";
import { ErrConsumerConfigRejected } from "../errors/index.js";
import { deliverConfig, describePosition, type StreamPosition } from "../position/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import type { StreamFacts } from "./facts.js";
import type { DeliverFrom } from "./recovery.js";

// Where a route's durable starts (withStartAt). The start is applied only when the durable is
// created; afterwards the durable's own position rules.

/** The start fields that override the route's own start (`"start"` keeps it). */
export function startFields(deliver: DeliverFrom): Partial<ConsumerConfig> {
  if (deliver === "start") return {};
  if (deliver === "all") return { deliver_policy: DeliverPolicy.All };
  return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: deliver.startSeq };
}

export function startLog(spec: JetStreamRouteSpec, deliver: DeliverFrom): Record<string, unknown> {
  if (deliver === "all") return {};
  if (deliver === "start") {
    return spec.startAt.kind === "all" ? {} : { startAt: describePosition(spec.startAt) };
  }
  return { startSeq: deliver.startSeq };
}

/**
 * nats-server lets a work-queue stream's consumers start only at its first message
 * ("consumer must be deliver all on workqueue stream"): say so for the route, whether the
 * durable exists yet or not, rather than let the start be refused (or ignored) later.
 */
export function requireStartAllowed(spec: JetStreamRouteSpec, stream: StreamFacts): void {
  if (spec.startAt.kind === "all" || stream.retention !== RetentionPolicy.Workqueue) return;
  throw new ErrConsumerConfigRejected(
    `route "${spec.name}" starts at withStartAt(${describePosition(spec.startAt)}), but stream "${spec.stream}" is a work-queue stream, ` +
      `whose consumers always start at its first stored message (acknowledged messages are deleted there); remove withStartAt, ` +
      `or purge the stream up to where the route should start`,
  );
}

/**
 * The warning for a durable created with another start than the route's withStartAt: the
 * start applies only at creation, and saying nothing would let a user believe the durable
 * moved. A duration back from now matches any `by_start_time` durable (it is a different time
 * on every start by construction).
 */
export function startWarning(
  current: Partial<ConsumerConfig>,
  spec: JetStreamRouteSpec,
): string | undefined {
  if (!spec.startAtSet || startMatches(current, spec.startAt)) return undefined;
  const was = current.deliver_policy ?? DeliverPolicy.All;
  const detail =
    was === DeliverPolicy.StartSequence
      ? ` ${current.opt_start_seq}`
      : was === DeliverPolicy.StartTime
        ? ` ${current.opt_start_time}`
        : "";
  return (
    `the durable was created with deliver_policy ${was}${detail}, not at withStartAt(${describePosition(spec.startAt)}): ` +
    "withStartAt applies only when the durable is created, so it keeps its position. " +
    `To move it: stop the route and run resetDurable (jetroute durable reset ${spec.stream} ${spec.durable} --to <seq|time>), or consume with a new durable (withDurable)`
  );
}

function startMatches(current: Partial<ConsumerConfig>, start: StreamPosition): boolean {
  const policy = current.deliver_policy ?? DeliverPolicy.All;
  if (policy !== deliverConfig(start).deliver_policy) return false;
  if (start.kind === "seq") return current.opt_start_seq === start.seq;
  if (start.kind === "time") {
    // The server reports RFC 3339 with nanoseconds, which Date.parse does not read.
    const ms = Date.parse((current.opt_start_time ?? "").replace(/(\.\d{3})\d+/, "$1"));
    return ms === start.time.getTime();
  }
  return true;
}
