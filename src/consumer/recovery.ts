import type { RetentionPolicy } from "@nats-io/jetstream";

/** What the engine knows of a stream to tell it from another stream of the same name. */
export interface StreamIdentity {
  /** Stream info `created` (ISO 8601, nanoseconds): a stream created again gets a new one. */
  readonly created: string;
  readonly retention: RetentionPolicy;
  /** The first stream sequence still stored (`last + 1` when the stream is empty). */
  readonly firstSeq: number;
  /** The last stream sequence ever stored; 0 for a new stream. */
  readonly lastSeq: number;
}

/**
 * Where a created consumer starts: `"start"` (the route's withStartAt, `"all"` by default),
 * `"all"` (`deliver_policy: all`, whatever the route says) or the first stream sequence to
 * deliver (`deliver_policy: by_start_sequence`).
 */
export type DeliverFrom = "start" | "all" | { readonly startSeq: number };

/** How to recover a lost consumer. */
export interface RecoveryPlan {
  readonly deliver: DeliverFrom;
  /**
   * The stream is not the one the engine started on (deleted and created again, or a memory
   * stream lost with its server and provisioned anew): its sequences restarted, so the ack
   * floor and the settled sequences the engine remembers belong to another stream.
   */
  readonly streamRecreated: boolean;
}

/**
 * Decides how to recreate a lost consumer from the stream the engine started on (`previous`),
 * the stream as it is `now`, and the last ack floor seen (a stream sequence, 0 when none).
 *
 * - A new stream (other `created`, or a last sequence below the floor: sequences never go back
 *   on one stream, purges included) is consumed from its first message.
 * - Limits: after the floor (`by_start_sequence`), so acked messages are not replayed; with
 *   no floor yet (nothing acknowledged), where the route starts (withStartAt).
 * - Work-queue and interest: `"all"`. Work-queue streams refuse `by_start_sequence`, and
 *   neither needs a start: acked messages are deleted there, so the first one stored is the
 *   first unacked one. (Interest streams accept it on 2.9.10 and 2.15.1, but `"all"` is safe on
 *   every version; messages still kept for other consumers are replays the guard acks.)
 */
export function recoveryPlan(
  previous: StreamIdentity,
  now: StreamIdentity,
  floor: number,
): RecoveryPlan {
  const streamRecreated = previous.created !== now.created || now.lastSeq < floor;
  if (streamRecreated || now.retention !== "limits") return { deliver: "all", streamRecreated };
  if (floor === 0) return { deliver: "start", streamRecreated };
  return { deliver: { startSeq: floor + 1 }, streamRecreated };
}
