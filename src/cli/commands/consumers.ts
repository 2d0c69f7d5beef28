// `jetroute consumers ls <stream>`: the stream's consumers with what they still owe.
import type { ConsumerInfo } from "@nats-io/jetstream";
import type { CommandContext } from "../context.js";
import { streamNotFound, toFailure } from "../failures.js";
import { formatAgo, printJson, printTable } from "../output.js";
import { checkStreamArg } from "../parse.js";

/** One row of `consumers ls --json`. */
export interface ConsumerRow {
  name: string;
  durable: boolean;
  filter: string[];
  numPending: number;
  numAckPending: number;
  numRedelivered: number;
  numWaiting: number;
  deliveredStreamSeq: number;
  ackFloorStreamSeq: number;
  /** null until something was delivered or acked. */
  lastActive: string | null;
  paused: boolean;
}

export function consumerRow(ci: ConsumerInfo): ConsumerRow {
  const config = ci.config;
  const filter =
    config.filter_subjects && config.filter_subjects.length > 0
      ? config.filter_subjects
      : config.filter_subject
        ? [config.filter_subject]
        : [];
  // last_active is absent (or the zero time) until something was delivered / acked
  // (nats.js types it as nanos; the server sends an ISO time)
  const active = [ci.delivered.last_active as unknown, ci.ack_floor.last_active as unknown]
    .filter((t): t is string => typeof t === "string" && !t.startsWith("0001-"))
    .sort()
    .at(-1);
  return {
    name: ci.name,
    durable: config.durable_name !== undefined,
    filter,
    numPending: ci.num_pending,
    numAckPending: ci.num_ack_pending,
    numRedelivered: ci.num_redelivered,
    numWaiting: ci.num_waiting,
    deliveredStreamSeq: ci.delivered.stream_seq,
    ackFloorStreamSeq: ci.ack_floor.stream_seq,
    lastActive: active ?? null,
    paused: ci.paused === true,
  };
}

export async function consumersLs(ctx: CommandContext, streamArg: string): Promise<void> {
  const stream = checkStreamArg("<stream>", streamArg);
  const conn = await ctx.connect();
  const rows: ConsumerRow[] = [];
  try {
    const jsm = await conn.jetstreamManager();
    // nats.js lists lazily: an unknown stream fails on the first page, after this call
    for await (const ci of jsm.consumers.list(stream)) rows.push(consumerRow(ci));
  } catch (err) {
    throw toFailure(err, { stream });
  }
  if (rows.length === 0) {
    // the list API answers an empty page for a missing stream on some servers: check it
    try {
      const jsm = await conn.jetstreamManager();
      await jsm.streams.info(stream);
    } catch (err) {
      const failure = toFailure(err, { stream });
      throw failure.message.includes("not found") ? streamNotFound(stream, err) : failure;
    }
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  if (ctx.json) return printJson(ctx.io, rows);
  if (rows.length === 0) {
    ctx.io.stderr.write(`no consumers on stream "${stream}"\n`);
    return;
  }
  printTable(
    ctx.io,
    ["consumer", "filter", "pending", "ack pending", "redelivered", "waiting", "last active"],
    rows.map((r) => [
      r.name,
      r.filter.join(", ") || "(all)",
      r.numPending,
      r.numAckPending,
      r.numRedelivered,
      r.numWaiting,
      formatAgo(r.lastActive ?? undefined),
    ]),
  );
}
