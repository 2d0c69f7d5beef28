import {
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
} from "@nats-io/jetstream";
import { type Connection, type ServerVersion, versionAtLeast } from "../conn/index.js";
import { requireConnection } from "../conn/require.js";
import { ConsumerMetadata, FILTER_SUBJECTS_SINCE, isDurableRunning } from "../consumer/index.js";
import {
  causeText,
  ErrConsumerConfigRejected,
  ErrConsumerNotFound,
  ErrDurableRunning,
  ErrInvalidOption,
  invalidValueMessage,
} from "../errors/index.js";
import { silentLogger } from "../logger/index.js";
import { checkKeys } from "../options/index.js";
import { parseStartAt, resolveTime, type StreamPosition } from "../position/index.js";
import { firstSeqAtOrAfter, requireRetention, streamInfo } from "./stream.js";
import type { ResetOptions, ResetResult } from "./types.js";

/** nats-server 2.14 added `$JS.API.CONSUMER.RESET` (ADR-60). */
export const CONSUMER_RESET_SINCE: ServerVersion = [2, 14, 0];

/** The deliver policies the reset API accepts (ADR-60). */
const RESETTABLE: readonly DeliverPolicy[] = [
  DeliverPolicy.All,
  DeliverPolicy.StartSequence,
  DeliverPolicy.StartTime,
];

/**
 * Rewinds (or advances) a durable consumer so that the next message it delivers is the first
 * one at or after `to`. On nats-server 2.14+ with a durable whose `deliver_policy` is all /
 * by_start_sequence / by_start_time it uses the consumer reset API (in place); otherwise it
 * deletes the durable and creates it again with the same config, every field kept but
 * `deliver_policy: by_start_sequence` and `opt_start_seq` (its pending acks and redelivery
 * state are lost either way: that is what a reset is).
 *
 * Rejects with ErrDurableRunning while a route of this process consumes the durable,
 * ErrStreamNotFound, ErrConsumerNotFound, ErrRetentionUnsupported on a work-queue or interest
 * stream, ErrInvalidOption for a bad `to`, ErrConsumerConfigRejected when the server refuses
 * the reset or the new consumer (the old config is then put back).
 * @example await resetDurable(conn, "ORDERS", "charge", { to: "2h" }); // re-deliver the last 2 hours
 */
export async function resetDurable(
  conn: Connection,
  stream: string,
  durable: string,
  options: ResetOptions,
): Promise<ResetResult> {
  requireConnection(conn, "resetDurable conn");
  requireName("resetDurable stream", stream);
  requireName("resetDurable durable", durable);
  const position = targetOf(options);
  const log = (options.logger ?? silentLogger()).child({ stream, durable });
  const what = `resetDurable "${durable}"`;
  refuseRunning(stream, durable);
  const jsm = await conn.jetstreamManager();
  const info = await streamInfo(jsm, stream, what);
  requireRetention(info, [RetentionPolicy.Workqueue, RetentionPolicy.Interest], what);
  const consumer = await consumerInfo(jsm, stream, durable);
  const time = resolveTime(position);
  const seq = await seqOf(jsm, stream, position, time, info.state);
  requireWithinStream(stream, seq, info.state.last_seq);
  refuseRunning(stream, durable); // again: a route may have started during the awaits
  const server = conn.serverVersion();
  if (
    versionAtLeast(server, CONSUMER_RESET_SINCE) &&
    RESETTABLE.includes(consumer.config.deliver_policy)
  ) {
    try {
      const r = await jsm.consumers.reset(stream, durable, seq);
      log.info({ seq: r.reset_seq }, "durable reset (consumer reset API)");
      return Object.freeze({ method: "reset-api", seq: r.reset_seq, time, config: r.config });
    } catch (cause) {
      throw rejected(what, stream, cause);
    }
  }
  const mark = versionAtLeast(server, FILTER_SUBJECTS_SINCE);
  const config = await recreate(jsm, stream, consumer.config, seq, mark);
  log.info({ seq }, "durable re-created at a new start");
  return Object.freeze({ method: "recreated", seq, time, config });
}

function requireName(option: string, value: unknown): void {
  if (typeof value === "string" && value !== "" && !/[\s.*>]/.test(value)) return;
  throw new ErrInvalidOption(invalidValueMessage(option, value, "a stream or consumer name"));
}

/** Every option resetDurable takes: a key added to ResetOptions fails to compile until listed. */
const RESET_KEYS: Record<keyof ResetOptions, true> = { to: true, logger: true };

function targetOf(options: ResetOptions): StreamPosition {
  if (typeof options !== "object" || options === null) {
    throw new ErrInvalidOption(invalidValueMessage("resetDurable options", options, "{ to }"));
  }
  checkKeys(options, Object.keys(RESET_KEYS), "resetDurable");
  const expected =
    '"all", a stream sequence (integer >= 1), a Date, an ISO 8601 time or a duration back ("2h")';
  const p = parseStartAt(options.to, "resetDurable to", undefined, new Date(), expected);
  if (p.kind === "new" || p.kind === "last-per-subject") {
    throw new ErrInvalidOption(invalidValueMessage("resetDurable to", options.to, expected));
  }
  return p;
}

/**
 * A start past the stream's end would have the durable skip every message stored until then
 * (2.14+ moves it there; a re-created one on 2.9/2.10 delivers them anyway): refused alike on
 * every server. `last + 1` (only messages stored from now on) is allowed.
 */
function requireWithinStream(stream: string, seq: number, last: number): void {
  if (seq <= last + 1) return;
  throw new ErrInvalidOption(
    invalidValueMessage(
      "resetDurable to",
      seq,
      `a sequence up to ${last + 1} (stream "${stream}" ends at ${last}; ${last + 1} delivers only messages stored from now on)`,
    ),
  );
}

function refuseRunning(stream: string, durable: string): void {
  if (!isDurableRunning(stream, durable)) return;
  throw new ErrDurableRunning(
    `a route of this process is consuming durable "${durable}" on stream "${stream}"; stop it before resetting the durable`,
  );
}

async function consumerInfo(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
): Promise<ConsumerInfo> {
  try {
    return await jsm.consumers.info(stream, durable);
  } catch (cause) {
    if (cause instanceof JetStreamApiError && cause.code === JetStreamApiCodes.ConsumerNotFound) {
      throw new ErrConsumerNotFound(`durable "${durable}" does not exist on stream "${stream}"`, {
        cause,
      });
    }
    throw cause;
  }
}

/** The first sequence to deliver: past the stream's end when nothing is stored at or after a time. */
async function seqOf(
  jsm: JetStreamManager,
  stream: string,
  position: StreamPosition,
  time: Date | undefined,
  state: { first_seq: number; last_seq: number },
): Promise<number> {
  if (position.kind === "seq") return position.seq;
  if (time === undefined) return Math.max(state.first_seq, 1); // "all"
  return (await firstSeqAtOrAfter(jsm, stream, time)) ?? state.last_seq + 1;
}

/**
 * The durable's config with a new start and nothing else changed. Metadata keys under
 * `_nats.` are the server's own (2.11+ stamps its versions there) and are left for it to set.
 */
export function restartConfig(
  config: ConsumerConfig,
  seq: number,
  mark: boolean,
  now: Date = new Date(),
): ConsumerConfig {
  const next: ConsumerConfig = {
    ...config,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: seq,
  };
  delete next.opt_start_time;
  // 2.10+: tells a route running on the durable in another process that this re-creation is a
  // rewind, so it runs the messages after the new start again (src/consumer/rewind.ts).
  if (mark) next.metadata = { ...next.metadata, [ConsumerMetadata.Reset]: now.toISOString() };
  return withoutServerMetadata(next);
}

function withoutServerMetadata(config: ConsumerConfig): ConsumerConfig {
  if (config.metadata === undefined) return config;
  const metadata = Object.fromEntries(
    Object.entries(config.metadata).filter(([k]) => !k.startsWith("_nats.")),
  );
  const out = { ...config };
  if (Object.keys(metadata).length === 0) delete out.metadata;
  else out.metadata = metadata;
  return out;
}

/** Delete and create again; a refused create puts the old config back before failing. */
async function recreate(
  jsm: JetStreamManager,
  stream: string,
  old: ConsumerConfig,
  seq: number,
  mark: boolean,
): Promise<ConsumerConfig> {
  const name = old.durable_name ?? old.name ?? "";
  const what = `resetDurable "${name}"`;
  await jsm.consumers.delete(stream, name).catch((cause: unknown) => {
    throw rejected(what, stream, cause);
  });
  try {
    return (await jsm.consumers.add(stream, restartConfig(old, seq, mark))).config;
  } catch (cause) {
    await jsm.consumers.add(stream, withoutServerMetadata(old)).catch(() => {});
    throw rejected(what, stream, cause);
  }
}

function rejected(what: string, stream: string, cause: unknown): unknown {
  if (!(cause instanceof JetStreamApiError)) return cause;
  if (cause.code === JetStreamApiCodes.ConsumerNotFound) {
    return new ErrConsumerNotFound(`${what}: the durable is gone from stream "${stream}"`, {
      cause,
    });
  }
  return new ErrConsumerConfigRejected(
    `${what} on stream "${stream}": the server refused: ${causeText(cause)}`,
    {
      cause,
    },
  );
}
