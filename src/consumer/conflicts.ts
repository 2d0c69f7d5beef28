import { AckPolicy, type ConsumerConfig, ReplayPolicy } from "@nats-io/jetstream";
import { type ServerVersion, versionAtLeast } from "../conn/index.js";
import { nanosToMillis } from "../duration/index.js";
import type { ConsumerConflict } from "../errors/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { subjectCovers } from "../subject/index.js";
import {
  FILTER_SUBJECTS_SINCE,
  filterOf,
  MIN_MAX_EXPIRES_MS,
  type StreamFacts,
} from "./contract.js";

// The settings a route cannot run with and must not change in place on an existing durable:
// each is a ConsumerConflict (field, current, wanted, why) that fails the route at start.

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

/**
 * True when the durable's filter selects what the route consumes: the same subjects in any
 * order, or no filter when the route's subjects cover every subject the stream stores (all a
 * durable without a filter gets, as `orders.*` on a stream of `orders.a`, `orders.b`).
 */
export function filterMatches(
  current: Partial<ConsumerConfig>,
  subjects: readonly string[],
  streamSubjects: readonly string[],
): boolean {
  const filter = filterOf(current);
  if (filter.length > 0) return sameSet(filter, subjects);
  if (subjects.includes(">")) return true;
  return (
    streamSubjects.length > 0 &&
    streamSubjects.every((s) => subjects.some((r) => subjectCovers(r, s)))
  );
}

function filterConflict(
  current: Partial<ConsumerConfig>,
  subjects: readonly string[],
  server: ServerVersion,
): ConsumerConflict {
  const multi = (current.filter_subjects?.length ?? 0) > 0;
  const why = versionAtLeast(server, FILTER_SUBJECTS_SINCE)
    ? "an in-place filter update keeps the durable's position, so stored messages the old filter did not select would never be delivered"
    : "nats-server 2.9 accepts an in-place filter update but then delivers nothing of the new subject";
  return {
    field: multi ? "filter_subjects" : "filter_subject",
    current: multi
      ? current.filter_subjects
      : current.filter_subject || "none (every subject of the stream)",
    wanted: subjects.length === 1 ? subjects[0] : subjects,
    why,
  };
}

/** Settings the engine cannot run with and cannot (or must not) change in place. */
export function conflictsOf(
  current: Partial<ConsumerConfig>,
  spec: JetStreamRouteSpec,
  server: ServerVersion,
  stream: StreamFacts,
): ConsumerConflict[] {
  const found: ConsumerConflict[] = [];
  if (!current.durable_name) {
    found.push({
      field: "durable_name",
      current: `none (an ephemeral consumer named "${current.name ?? spec.durable}")`,
      wanted: spec.durable,
      why: "the server deletes an ephemeral consumer once it is inactive, and the route would start over from the stream's first message",
    });
  }
  if (current.deliver_subject) {
    found.push({
      field: "deliver_subject",
      current: current.deliver_subject,
      wanted: "none (a pull consumer)",
      why: "it is a push consumer; jetroute pulls, and a push consumer cannot become a pull one",
    });
  }
  if (current.ack_policy !== undefined && current.ack_policy !== AckPolicy.Explicit) {
    found.push({
      field: "ack_policy",
      current: current.ack_policy,
      wanted: AckPolicy.Explicit,
      why:
        current.ack_policy === AckPolicy.None
          ? "with no acks a failed message is never redelivered, and ack_policy cannot be updated"
          : "one ack settles every earlier message, so a failed one is lost when a later one succeeds, and ack_policy cannot be updated",
    });
  }
  if (current.replay_policy === ReplayPolicy.Original) {
    found.push({
      field: "replay_policy",
      current: current.replay_policy,
      wanted: ReplayPolicy.Instant,
      why: "it delivers at the pace the messages were published, and replay_policy cannot be updated",
    });
  }
  if (!filterMatches(current, spec.subjects, stream.subjects)) {
    found.push(filterConflict(current, spec.subjects, server));
  }
  if ((current.priority_groups?.length ?? 0) > 0) {
    found.push({
      field: "priority_groups",
      current: current.priority_groups,
      wanted: "none",
      why: "the server refuses pull requests that name no priority group, and jetroute names none",
    });
  }
  const maxExpiresMs = nanosToMillis(current.max_expires ?? 0);
  if (maxExpiresMs > 0 && maxExpiresMs < MIN_MAX_EXPIRES_MS) {
    found.push({
      field: "max_expires",
      current: `${maxExpiresMs}ms`,
      wanted: `unset, or at least ${MIN_MAX_EXPIRES_MS}ms`,
      why: "jetroute's pull requests carry an idle heartbeat of at most half their expiry",
      fix: `raise max_expires on the durable (nats consumer edit ${spec.stream} ${spec.durable} --max-pull-expire 30s), or consume with a new durable`,
    });
  }
  return found;
}
