// `jetroute streams ls`: every stream with its subjects, size, consumers and sequences.
import type { StreamInfo } from "@nats-io/jetstream";
import type { CommandContext } from "../context.js";
import { toFailure } from "../failures.js";
import { formatBytes, printJson, printTable } from "../output.js";

/** One row of `streams ls --json`. */
export interface StreamRow {
  name: string;
  subjects: string[];
  messages: number;
  bytes: number;
  consumers: number;
  firstSeq: number;
  lastSeq: number;
  /** null while the stream is empty. */
  firstTime: string | null;
  lastTime: string | null;
  storage: string;
  retention: string;
}

export function streamRow(si: StreamInfo): StreamRow {
  return {
    name: si.config.name,
    subjects: si.config.subjects ?? [],
    messages: si.state.messages,
    bytes: si.state.bytes,
    consumers: si.state.consumer_count,
    firstSeq: si.state.first_seq,
    lastSeq: si.state.last_seq,
    firstTime: si.state.messages > 0 ? si.state.first_ts : null,
    lastTime: si.state.last_seq > 0 ? si.state.last_ts : null,
    storage: si.config.storage,
    retention: si.config.retention,
  };
}

export async function streamsLs(ctx: CommandContext): Promise<void> {
  const conn = await ctx.connect();
  const rows: StreamRow[] = [];
  try {
    const jsm = await conn.jetstreamManager();
    for await (const si of jsm.streams.list()) rows.push(streamRow(si));
  } catch (err) {
    throw toFailure(err);
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  if (ctx.json) return printJson(ctx.io, rows);
  if (rows.length === 0) {
    ctx.io.stderr.write("no streams\n");
    return;
  }
  printTable(
    ctx.io,
    ["stream", "subjects", "messages", "bytes", "consumers", "first seq", "last seq"],
    rows.map((r) => [
      r.name,
      r.subjects.join(", ") || "-",
      r.messages,
      formatBytes(r.bytes),
      r.consumers,
      r.firstSeq,
      r.lastSeq,
    ]),
  );
}
