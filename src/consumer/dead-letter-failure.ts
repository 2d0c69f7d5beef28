import { RetentionPolicy } from "@nats-io/jetstream";
import type { Connection } from "../conn/types.js";
import { classifyFailure } from "../producer/classify.js";
import { isStreamNotFound } from "./stream-checks.js";

/**
 * What a failed DLQ publish means:
 * - `transient`: try again later (timeouts, disconnects, a leader election, anything unknown);
 * - `tooLarge`: these bytes can never be stored (server `max_payload`, stream `max_msg_size`);
 *   a smaller dead letter may be;
 * - `noStream`: no stream stores the DLQ subject;
 * - `permission`: this connection may not publish to the DLQ subject;
 * - `full`: the DLQ stream is at its limits and discards new messages.
 */
export type DeadLetterFailureKind = "transient" | "tooLarge" | "noStream" | "permission" | "full";

/**
 * Classifies a DLQ publish error with the producer's {@link classifyFailure}. A JetStream
 * publish that nobody answers (no responders, 503) means either that no stream stores the
 * subject or that its leader is being elected: `streamExists` tells them apart.
 */
export async function classifyDeadLetterFailure(
  err: unknown,
  streamExists: () => Promise<boolean>,
): Promise<DeadLetterFailureKind> {
  switch (classifyFailure(err)) {
    case "tooLarge":
      return "tooLarge";
    case "permission":
      return "permission";
    case "full":
      return "full";
    case "noResponders":
    case "unavailable":
      return (await streamExists()) ? "transient" : "noStream";
    default:
      return "transient";
  }
}

/**
 * True unless the server says no stream stores `subject`. Any other failure of the lookup
 * (timeout, disconnect) counts as "exists": when in doubt, retry rather than fail the route.
 */
export async function dlqStreamExists(conn: Connection, subject: string): Promise<boolean> {
  try {
    const jsm = await conn.jetstreamManager();
    await jsm.streams.find(subject);
    return true;
  } catch (err) {
    return !isStreamNotFound(err);
  }
}

/**
 * Whether the original stays in its stream once terminated: true on a limits stream; false on
 * work-queue and interest streams, where `term()` deletes it (so a dead letter without its
 * payload would lose the payload); undefined when the stream's info could not be read.
 */
export async function originalOutlivesTerm(
  conn: Connection,
  stream: string,
): Promise<boolean | undefined> {
  try {
    const jsm = await conn.jetstreamManager();
    const info = await jsm.streams.info(stream);
    return info.config.retention === RetentionPolicy.Limits;
  } catch {
    return undefined;
  }
}
