import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  type StreamInfo,
} from "@nats-io/jetstream";
import { isStreamNotFound } from "../consumer/stream-checks.js";
import { millisToNanos } from "../duration/index.js";
import { ErrRetentionUnsupported, ErrStreamNotFound } from "../errors/index.js";

/** How long the server keeps a probe consumer this process failed to delete (a crash). */
const PROBE_INACTIVE_MS = 30_000;

/** The stream's info, or ErrStreamNotFound naming `stream` and what needed it. */
export async function streamInfo(
  jsm: JetStreamManager,
  stream: string,
  what: string,
): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(stream);
  } catch (cause) {
    if (isStreamNotFound(cause)) {
      throw new ErrStreamNotFound(`${what}: stream "${stream}" does not exist`, { cause });
    }
    throw cause;
  }
}

/** Throws ErrRetentionUnsupported when the stream's retention is one of `refused`. */
export function requireRetention(
  info: StreamInfo,
  refused: readonly RetentionPolicy[],
  what: string,
): void {
  const retention = info.config.retention;
  if (!refused.includes(retention)) return;
  const why =
    retention === RetentionPolicy.Workqueue
      ? "a work-queue stream deletes each message once it is acknowledged and allows one consumer per subject"
      : "an interest stream deletes each message once every consumer acknowledged it";
  throw new ErrRetentionUnsupported(
    `${what}: stream "${info.config.name}" has ${retention} retention; ${why}, so there is nothing reliable to read again (use a limits stream)`,
  );
}

/**
 * The sequence of the first message stored at or after `time` (any subject), or undefined
 * when there is none yet. One ephemeral consumer created and deleted: nats-server places a
 * `by_start_time` consumer on that message when it is created (its `delivered.stream_seq` is
 * the one before), which works on every server version (2.9 has no get-by-time).
 */
export async function firstSeqAtOrAfter(
  jsm: JetStreamManager,
  stream: string,
  time: Date,
): Promise<number | undefined> {
  const info = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: time.toISOString(),
    inactive_threshold: millisToNanos(PROBE_INACTIVE_MS),
    mem_storage: true,
    num_replicas: 1,
  });
  // The server forgets it after PROBE_INACTIVE_MS anyway; nothing to do if the delete fails.
  await jsm.consumers.delete(stream, info.name).catch(() => {});
  return info.num_pending === 0 ? undefined : info.delivered.stream_seq + 1;
}
