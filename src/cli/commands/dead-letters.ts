// `jetroute dlq ls|show|redrive|purge`: thin adapters over the dlq module's API (see
// ../pending-api.ts until it is merged). Arguments are checked before anything is dialled.
import { checkCanConfirm, confirm } from "../confirm.js";
import type { CommandContext } from "../context.js";
import { InterruptedError, OperationError, UsageError } from "../exit.js";
import { toFailure } from "../failures.js";
import { formatAgo, printFields, printJson, printTable } from "../output.js";
import {
  checkStreamArg,
  checkSubjectFlag,
  parseCountFlag,
  parseSeqArg,
  parseTimeFlag,
} from "../parse.js";
import { type DeadLetter, type DeadLetterFilter, dlqApi } from "../pending-api.js";
import { startProgress } from "../progress.js";

/** The filter flags shared by ls, redrive and purge. */
export interface FilterFlags {
  route?: string;
  durable?: string;
  subject?: string;
  reason?: string;
  since?: string;
  before?: string;
}

export function parseFilter(flags: FilterFlags, now = new Date()): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (flags.route !== undefined) filter.route = flags.route;
  if (flags.durable !== undefined) filter.durable = flags.durable;
  if (flags.subject !== undefined)
    filter.subject = checkSubjectFlag("--subject", flags.subject, true);
  if (flags.reason !== undefined) filter.reason = flags.reason;
  if (flags.since !== undefined) filter.since = parseTimeFlag("--since", flags.since, now);
  if (flags.before !== undefined) filter.before = parseTimeFlag("--before", flags.before, now);
  if (filter.since && filter.before && filter.since >= filter.before) {
    throw new UsageError(
      `--since must be earlier than --before, got --since ${flags.since} --before ${flags.before}`,
    );
  }
  return filter;
}

/** The filter as the user typed it, for messages: `--route charge --since 2h`. */
export function describeFilter(flags: FilterFlags): string {
  const parts = (["route", "durable", "subject", "reason", "since", "before"] as const)
    .filter((k) => flags[k] !== undefined)
    .map((k) => `--${k} ${flags[k]}`);
  return parts.length === 0 ? "(no filter)" : parts.join(" ");
}

function text(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : value;
}

/** Headers as a plain record, whatever shape the API hands back (nats.js MsgHdrs or a record). */
export function headersRecord(headers: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (headers === undefined || headers === null) return out;
  const h = headers as { keys?: () => string[]; values?: (k: string) => string[] };
  if (typeof h.keys === "function" && typeof h.values === "function") {
    for (const k of h.keys()) out[k] = h.values(k);
    return out;
  }
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  }
  return out;
}

/** A payload for JSON: the text when it is UTF-8, else base64. */
export function payloadJson(data: Uint8Array): { data: string } | { dataBase64: string } {
  try {
    return { data: new TextDecoder("utf-8", { fatal: true }).decode(data) };
  } catch {
    return { dataBase64: Buffer.from(data).toString("base64") };
  }
}

function summaryJson(l: DeadLetter) {
  return {
    seq: l.seq,
    subject: l.subject,
    storedAt: text(l.storedAt),
    originalSubject: l.originalSubject,
    stream: l.stream,
    sequence: l.sequence,
    deliveryCount: l.deliveryCount,
    error: l.error,
    route: l.route,
    durable: l.durable,
    time: text(l.time),
  };
}

function oneLine(s: string | undefined, max: number): string | undefined {
  if (s === undefined) return undefined;
  const flat = s.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export async function dlqLs(
  ctx: CommandContext,
  streamArg: string,
  flags: FilterFlags & { limit?: string },
): Promise<void> {
  const stream = checkStreamArg("<dlq-stream>", streamArg);
  const filter = parseFilter(flags);
  const limit = flags.limit === undefined ? undefined : parseCountFlag("--limit", flags.limit);
  const api = await dlqApi();
  const conn = await ctx.connect();
  ctx.interrupts.cancellable();
  let letters: DeadLetter[];
  try {
    letters = await api.listDeadLetters(conn, stream, {
      filter,
      signal: ctx.interrupts.signal,
      ...(limit === undefined ? {} : { limit }),
    });
  } catch (err) {
    throw toFailure(err, { stream });
  }
  if (ctx.json) return printJson(ctx.io, letters.map(summaryJson));
  if (letters.length === 0) {
    ctx.io.stderr.write(`no dead letters in "${stream}" match ${describeFilter(flags)}\n`);
    return;
  }
  printTable(
    ctx.io,
    ["seq", "stored", "route", "durable", "subject", "deliveries", "error"],
    letters.map((l) => [
      l.seq,
      formatAgo(l.storedAt instanceof Date ? l.storedAt : new Date(l.storedAt)),
      l.route,
      l.durable,
      l.originalSubject,
      l.deliveryCount,
      oneLine(l.error, 60),
    ]),
  );
}

export async function dlqShow(ctx: CommandContext, streamArg: string, seqArg: string) {
  const stream = checkStreamArg("<dlq-stream>", streamArg);
  const seq = parseSeqArg("<seq>", seqArg);
  const api = await dlqApi();
  const conn = await ctx.connect();
  let letter: DeadLetter;
  try {
    letter = await api.getDeadLetter(conn, stream, seq);
  } catch (err) {
    if ((err as { code?: unknown }).code === "ERR_DEAD_LETTER_NOT_FOUND") {
      throw new OperationError(`no dead letter at seq ${seq} in "${stream}"`, { cause: err });
    }
    throw toFailure(err, { stream });
  }
  const headers = headersRecord(letter.headers);
  const payload = payloadJson(letter.data);
  if (ctx.json) {
    return printJson(ctx.io, {
      ...summaryJson(letter),
      headers,
      ...payload,
      payloadTruncated: letter.payloadTruncated === true,
    });
  }
  printFields(ctx.io, [
    ["seq", letter.seq],
    ["stored", text(letter.storedAt)],
    ["route", letter.route],
    ["durable", letter.durable],
    [
      "original",
      `${letter.stream ?? "?"} seq ${letter.sequence ?? "?"} on ${letter.originalSubject ?? "?"}`,
    ],
    ["deliveries", letter.deliveryCount],
    ["failed at", text(letter.time)],
    ["error", letter.error],
  ]);
  ctx.io.stdout.write("headers:\n");
  for (const [k, vs] of Object.entries(headers)) {
    for (const v of vs) ctx.io.stdout.write(`  ${k}: ${v}\n`);
  }
  const size = `${letter.data.length} bytes${letter.payloadTruncated ? ", truncated" : ""}`;
  if ("data" in payload) ctx.io.stdout.write(`payload (${size}):\n${payload.data}\n`);
  else ctx.io.stdout.write(`payload (${size}, not UTF-8; base64):\n${payload.dataBase64}\n`);
}

export async function dlqRedrive(
  ctx: CommandContext,
  streamArg: string,
  flags: FilterFlags & { to?: string; dryRun?: boolean; keep?: boolean },
): Promise<void> {
  const stream = checkStreamArg("<dlq-stream>", streamArg);
  const filter = parseFilter(flags);
  const to = flags.to === undefined ? undefined : checkSubjectFlag("--to", flags.to, false);
  const api = await dlqApi();
  const conn = await ctx.connect();
  ctx.interrupts.cancellable();
  const progress = startProgress(ctx.io, flags.dryRun ? "checking" : "redriving");
  let result: Awaited<ReturnType<typeof api.redriveDeadLetters>>;
  try {
    result = await api.redriveDeadLetters(conn, stream, {
      filter,
      dryRun: flags.dryRun === true,
      keep: flags.keep === true,
      signal: ctx.interrupts.signal,
      onProgress: (p) =>
        progress.update(
          Number(p.processed ?? p.published ?? 0),
          Number(p.total ?? 0),
          p.published === undefined ? "" : `published ${p.published}`,
        ),
      ...(to === undefined ? {} : { to }),
    });
  } catch (err) {
    throw toFailure(err, { stream });
  } finally {
    progress.stop();
  }
  if (ctx.interrupts.signal.aborted) {
    reportRedrive(ctx, stream, flags, result);
    throw new InterruptedError("interrupted; re-run the same command to redrive the rest");
  }
  if (result.matched > 0 || ctx.json) reportRedrive(ctx, stream, flags, result);
  if (result.matched === 0) {
    throw new OperationError(
      `nothing matched: no dead letters in "${stream}" match ${describeFilter(flags)}`,
    );
  }
  if (result.failed.length > 0) {
    for (const f of result.failed.slice(0, 10)) {
      ctx.io.stderr.write(
        `  seq ${f.seq}: ${f.error instanceof Error ? f.error.message : String(f.error)}\n`,
      );
    }
    throw new OperationError(
      `${result.failed.length} of ${result.matched} dead letters could not be redriven`,
    );
  }
}

function reportRedrive(
  ctx: CommandContext,
  stream: string,
  flags: { dryRun?: boolean },
  r: {
    matched: number;
    published: number;
    duplicates: number;
    removed: number;
    kept: number;
    failed: Array<{ seq: number; error: unknown }>;
  },
): void {
  if (ctx.json) {
    printJson(ctx.io, {
      stream,
      dryRun: flags.dryRun === true,
      matched: r.matched,
      published: r.published,
      duplicates: r.duplicates,
      removed: r.removed,
      kept: r.kept,
      failed: r.failed.map((f) => ({
        seq: f.seq,
        error: f.error instanceof Error ? f.error.message : String(f.error),
      })),
      aborted: ctx.interrupts.signal.aborted,
    });
    return;
  }
  const verb = flags.dryRun ? "would redrive" : "redrove";
  ctx.io.stdout.write(
    `${verb} ${flags.dryRun ? r.matched : r.published} of ${r.matched} matched dead letters from "${stream}"` +
      ` (duplicates ${r.duplicates}, removed ${r.removed}, kept ${r.kept}, failed ${r.failed.length})\n`,
  );
}

export async function dlqPurge(
  ctx: CommandContext,
  streamArg: string,
  flags: FilterFlags & { yes?: boolean },
): Promise<void> {
  const stream = checkStreamArg("<dlq-stream>", streamArg);
  const filter = parseFilter(flags);
  checkCanConfirm(ctx.io, flags.yes === true, `purge dead letters from "${stream}"`);
  const api = await dlqApi();
  const conn = await ctx.connect();
  if (flags.yes !== true) {
    let count: number;
    try {
      count = (await api.listDeadLetters(conn, stream, { filter })).length;
    } catch (err) {
      throw toFailure(err, { stream });
    }
    if (count === 0) {
      throw new OperationError(
        `nothing matched: no dead letters in "${stream}" match ${describeFilter(flags)}`,
      );
    }
    const ok = await confirm(
      ctx.io,
      `Purge ${count} dead letter${count === 1 ? "" : "s"} from "${stream}" matching ${describeFilter(flags)}? This cannot be undone.`,
    );
    if (!ok) {
      throw new OperationError("purge not confirmed; nothing was deleted");
    }
  }
  ctx.interrupts.cancellable();
  let purged: number;
  try {
    ({ purged } = await api.purgeDeadLetters(conn, stream, {
      filter,
      signal: ctx.interrupts.signal,
    }));
  } catch (err) {
    throw toFailure(err, { stream });
  }
  if (ctx.json) printJson(ctx.io, { stream, purged, aborted: ctx.interrupts.signal.aborted });
  else
    ctx.io.stdout.write(
      `purged ${purged} dead letter${purged === 1 ? "" : "s"} from "${stream}"\n`,
    );
  if (ctx.interrupts.signal.aborted)
    throw new InterruptedError("interrupted; re-run the same command to purge the rest");
  if (purged === 0) {
    throw new OperationError(
      `nothing matched: no dead letters in "${stream}" match ${describeFilter(flags)}`,
    );
  }
}
