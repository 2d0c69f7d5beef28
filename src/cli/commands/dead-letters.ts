// `jetroute dlq ls` and `dlq show`: list and read dead letters (src/dlq), decoded.
import { type DeadLetter, describeIssue, getDeadLetter, listDeadLetters } from "../api.js";
import type { CommandContext } from "../context.js";
import { OperationError } from "../exit.js";
import { toFailure } from "../failures.js";
import { escapeControls, formatAgo, printFields, printJson, printTable } from "../output.js";
import { checkStreamArg, parseCountFlag, parseSeqArg } from "../parse.js";
import { describeFilter, type FilterFlags, parseFilter } from "./dlq-filter.js";

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
      ...(letter.schemaIssues === undefined ? {} : { schemaIssues: letter.schemaIssues }),
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
  // the original's own headers; the Jetroute-* ones are the fields above
  const entries = Object.entries(headers);
  ctx.io.stdout.write(entries.length === 0 ? "headers:    (none)\n" : "headers:\n");
  for (const [k, vs] of entries) {
    for (const v of vs) ctx.io.stdout.write(`  ${escapeControls(k)}: ${escapeControls(v)}\n`);
  }
  for (const issue of letter.schemaIssues ?? []) {
    ctx.io.stdout.write(`schema issue: ${escapeControls(describeIssue(issue))}\n`);
  }
  if (letter.schemaIssuesOmitted !== undefined) {
    ctx.io.stdout.write(`schema issue: (${letter.schemaIssuesOmitted} more left out)\n`);
  }
  for (const problem of letter.problems) {
    ctx.io.stdout.write(`problem: ${escapeControls(problem)}\n`);
  }
  const size =
    letter.payloadTruncated === undefined
      ? `${letter.data.length} bytes`
      : `left out of the dead letter; the original was ${letter.payloadTruncated} bytes (fetch it by stream and sequence)`;
  if ("data" in payload) {
    ctx.io.stdout.write(`payload (${size}):\n${escapeControls(payload.data, true)}\n`);
  } else ctx.io.stdout.write(`payload (${size}, not UTF-8; base64):\n${payload.dataBase64}\n`);
}
