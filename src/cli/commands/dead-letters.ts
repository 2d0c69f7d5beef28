// `jetroute dlq ls|show|redrive|purge`: thin adapters over the dlq module's API (src/dlq).
// Arguments are checked before anything is dialled.
import {
  type DeadLetter,
  type DeadLetterFilter,
  getDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  type RedriveEvent,
  type RedriveFailure,
  type RedriveSummary,
  redriveDeadLetters,
} from "../api.js";
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

/** Only the flags given become filter fields: a filter with none purges everything. */
export function parseFilter(flags: FilterFlags, now = new Date()): DeadLetterFilter {
  const filter: { -readonly [K in keyof DeadLetterFilter]: DeadLetterFilter[K] } = {};
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

/** The original's headers (a letter's `Jetroute-*` ones are decoded into its fields) as a record. */
export function headersRecord(
  headers: ReadonlyMap<string, readonly string[]>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of headers) out[k] = [...v];
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
  const conn = await ctx.connect();
  ctx.interrupts.cancellable();
  let letters: DeadLetter[];
  try {
    letters = await listDeadLetters(conn, stream, {
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
      formatAgo(l.storedAt),
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
  const conn = await ctx.connect();
  let letter: DeadLetter;
  try {
    letter = await getDeadLetter(conn, stream, seq);
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
      payloadTruncated: letter.payloadTruncated !== undefined,
      ...(letter.payloadTruncated === undefined
        ? {}
        : { originalPayloadBytes: letter.payloadTruncated }),
      ...(letter.redrivenFrom === undefined ? {} : { redrivenFrom: letter.redrivenFrom }),
      ...(letter.problems.length === 0 ? {} : { problems: letter.problems }),
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
  for (const problem of letter.problems) ctx.io.stdout.write(`problem: ${problem}\n`);
  const size =
    letter.payloadTruncated === undefined
      ? `${letter.data.length} bytes`
      : `left out of the dead letter; the original was ${letter.payloadTruncated} bytes (fetch it by stream and sequence)`;
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
  const conn = await ctx.connect();
  ctx.interrupts.cancellable();
  const progress = startProgress(ctx.io, flags.dryRun ? "checking" : "redriving");
  // The total is what matched when the redrive began: count it first on a terminal only.
  const total = ctx.io.stderr.isTTY ? await countMatching(conn, stream, filter) : 0;
  const seen = { done: 0, published: 0, failed: 0 };
  let result: RedriveSummary;
  try {
    result = await redriveDeadLetters(conn, stream, {
      filter,
      dryRun: flags.dryRun === true,
      keep: flags.keep === true,
      signal: ctx.interrupts.signal,
      onProgress: (e: RedriveEvent) => {
        seen.done++;
        if (e.kind === "published") seen.published++;
        if (e.kind === "failed") seen.failed++;
        progress.update(seen.done, total, `published ${seen.published} failed ${seen.failed}`);
      },
      ...(to === undefined ? {} : { to }),
    });
  } catch (err) {
    throw toFailure(err, { stream });
  } finally {
    progress.stop();
  }
  if (result.interrupted || ctx.interrupts.signal.aborted) {
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
      ctx.io.stderr.write(`  seq ${f.seq} (${f.kind}): ${f.reason}\n`);
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
  r: RedriveSummary,
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
      failed: r.failed.map((f: RedriveFailure) => ({ seq: f.seq, kind: f.kind, reason: f.reason })),
      ...(r.planned === undefined
        ? {}
        : {
            planned: r.planned.map((p) => ({
              seq: p.seq,
              subject: p.subject,
              msgId: p.msgId,
              bytes: p.data.length,
            })),
          }),
      aborted: r.interrupted || ctx.interrupts.signal.aborted,
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
  const conn = await ctx.connect();
  if (flags.yes !== true) {
    const count = await countMatching(conn, stream, filter);
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
  let interrupted: boolean;
  try {
    ({ purged, interrupted } = await purgeDeadLetters(conn, stream, {
      filter,
      signal: ctx.interrupts.signal,
    }));
  } catch (err) {
    throw toFailure(err, { stream });
  }
  const aborted = interrupted || ctx.interrupts.signal.aborted;
  if (ctx.json) printJson(ctx.io, { stream, purged, aborted });
  else
    ctx.io.stdout.write(
      `purged ${purged} dead letter${purged === 1 ? "" : "s"} from "${stream}"\n`,
    );
  if (aborted) throw new InterruptedError("interrupted; re-run the same command to purge the rest");
  if (purged === 0) {
    throw new OperationError(
      `nothing matched: no dead letters in "${stream}" match ${describeFilter(flags)}`,
    );
  }
}

/** How many letters match: for a progress bar's total and the purge confirmation. */
async function countMatching(
  conn: Parameters<typeof listDeadLetters>[0],
  stream: string,
  filter: DeadLetterFilter,
): Promise<number> {
  try {
    return (await listDeadLetters(conn, stream, { filter })).length;
  } catch (err) {
    throw toFailure(err, { stream });
  }
}
