// The chaos suite's stall measure: a publisher that keeps publishing at a steady rate while a
// server fails, and the longest gap between consecutive handled messages after the failure.
import { setTimeout as sleep } from "node:timers/promises";
import type { Connection } from "../../src/conn/types.js";
import type { Producer } from "../../src/producer/index.js";
import { type ProcessedRecord, waitFor } from "./support.js";

/** Now, in epoch ms with sub-ms precision: the clock the service fixture stamps records with. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A running {@link steadyPublisher}. */
export interface SteadyPublisher {
  /**
   * Stops publishing and waits for every publish in flight to settle (retries included). Resolves
   * with the ids published and when each publish was acked (epoch ms, in ack order); rejects if
   * any publish failed after its retries.
   */
  stop(): Promise<{ ids: number[]; ackedAt: number[] }>;
}

/**
 * Publishes `{ id }` (ids `firstId`, `firstId + 1`, ... with a `Nats-Msg-Id` so a retried publish
 * is stored once) on `subject`, one every `intervalMs`, without waiting for earlier publishes:
 * a publish retrying through a leader election does not hold back the ones after it, so the
 * stream gets messages as soon as it can store them again.
 */
export function steadyPublisher(
  producer: Producer,
  subject: string,
  firstId: number,
  intervalMs: number,
): SteadyPublisher {
  const ids: number[] = [];
  const ackedAt: number[] = [];
  const inFlight: Promise<void>[] = [];
  const failures: unknown[] = [];
  let next = firstId;
  const timer = setInterval(() => {
    const id = next++;
    ids.push(id);
    inFlight.push(
      producer.publishJetStream(subject, { id }, { msgId: `${subject}:${id}` }).then(
        () => {
          ackedAt.push(epochNow());
        },
        (err: unknown) => {
          failures.push(err);
        },
      ),
    );
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      if (failures.length > 0) {
        throw new Error(`${failures.length} steady publishes failed after their retries`, {
          cause: failures[0],
        });
      }
      return { ids, ackedAt };
    },
  };
}

/** The longest gap in a series of instants, and when it started. */
export interface Stall {
  /** The gap, in ms. */
  readonly ms: number;
  /** When the gap started, in ms after `from`. */
  readonly startsAfter: number;
}

/**
 * The longest gap (ms) between consecutive instants of `times` (epoch ms) from `from` on,
 * counting the gap from `from` to the first instant after it. Nothing after `from` is a stall
 * that never ended: `ms` is `Infinity`.
 */
export function longestGap(times: Iterable<number>, from: number): Stall {
  const after = [...times].filter((t) => t >= from).sort((a, b) => a - b);
  if (after.length === 0) return { ms: Number.POSITIVE_INFINITY, startsAfter: 0 };
  let prev = from;
  let longest: Stall = { ms: 0, startsAfter: 0 };
  for (const t of after) {
    if (t - prev > longest.ms) longest = { ms: t - prev, startsAfter: prev - from };
    prev = t;
  }
  return longest;
}

/** The longest processing stall from `from` on: the gap between consecutive handled messages. */
export function longestProcessingStall(records: readonly ProcessedRecord[], from: number): Stall {
  return longestGap(
    records.filter((r) => r.outcome === "ack").map((r) => r.at),
    from,
  );
}

/**
 * Makes the durable's leader the stream leader's node by asking the consumer leader to step
 * down (`$JS.API.CONSUMER.LEADER.STEPDOWN`, no nats.js API) until the election lands there, so
 * that killing the stream leader kills the consumer leader too: the case where a held pull is
 * lost and the client must notice. Resolves with that node's name.
 */
export async function colocateConsumerLeader(
  conn: Connection,
  stream: string,
  durable: string,
  timeoutMs = 30_000,
): Promise<string> {
  const jsm = await conn.jetstreamManager();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const streamLeader = (await jsm.streams.info(stream)).cluster?.leader;
    const consumerLeader = (await jsm.consumers.info(stream, durable)).cluster?.leader;
    if (streamLeader !== undefined && streamLeader === consumerLeader) return streamLeader;
    if (Date.now() > deadline) {
      throw new Error(`consumer leader ${consumerLeader} never moved to ${streamLeader}`);
    }
    await conn.nats.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${durable}`, undefined, {
      timeout: 5_000,
    });
    await waitFor(
      `a new leader of ${durable}`,
      async () => {
        const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
        const leader = info?.cluster?.leader;
        return leader !== undefined && leader !== consumerLeader;
      },
      10_000,
    );
    await sleep(100);
  }
}
