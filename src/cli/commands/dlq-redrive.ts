// `jetroute dlq redrive`: publish dead letters back (src/dlq), with progress and Ctrl-C.
import {
  type RedriveEvent,
  type RedriveFailure,
  type RedriveSummary,
  redriveDeadLetters,
} from "../api.js";
import type { CommandContext } from "../context.js";
import { InterruptedError, OperationError } from "../exit.js";
import { toFailure } from "../failures.js";
import { escapeControls, formatBytes, printJson, printTable } from "../output.js";
import { checkStreamArg, checkSubjectFlag } from "../parse.js";
import { startProgress } from "../progress.js";
import { countMatching, describeFilter, type FilterFlags, parseFilter } from "./dlq-filter.js";

export async function dlqRedrive(
  ctx: CommandContext,
  streamArg: string,
  flags: FilterFlags & { to?: string; dryRun?: boolean; keep?: boolean; allConsumers?: boolean },
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
      allConsumers: flags.allConsumers === true,
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
      ctx.io.stderr.write(`  seq ${f.seq} (${f.kind}): ${escapeControls(reasonText(f))}\n`);
    }
    if (result.failed.length > 10) {
      ctx.io.stderr.write(`  ... and ${result.failed.length - 10} more\n`);
    }
    throw new OperationError(
      `${result.failed.length} of ${result.matched} dead letters ${flags.dryRun ? "would fail to redrive" : "could not be redriven"}`,
    );
  }
}

/** The library's reason, in command-line terms: its `to` option is the --to flag here. */
function reasonText(f: RedriveFailure): string {
  return f.reason.replaceAll("with `to`", "with --to");
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
      failed: r.failed.map((f: RedriveFailure) => ({
        seq: f.seq,
        kind: f.kind,
        reason: reasonText(f),
      })),
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
  const interrupted = r.interrupted || ctx.interrupts.signal.aborted;
  if (flags.dryRun && r.planned !== undefined && r.planned.length > 0) {
    printTable(
      ctx.io,
      ["seq", "subject", "bytes"],
      r.planned.map((p) => [p.seq, p.subject, formatBytes(p.data.length)]),
    );
  }
  const counts = `(duplicates ${r.duplicates}, removed ${r.removed}, kept ${r.kept}, failed ${r.failed.length})`;
  if (interrupted) {
    ctx.io.stdout.write(
      `interrupted: ${flags.dryRun ? "checked" : `redrove ${r.published} of`} the ${r.matched} matched dead letters reached in "${stream}" ${counts}; the rest were not reached\n`,
    );
    return;
  }
  const verb = flags.dryRun ? "would redrive" : "redrove";
  ctx.io.stdout.write(
    `${verb} ${flags.dryRun ? r.matched - r.failed.length : r.published} of ${r.matched} matched dead letters from "${stream}" ${counts}\n`,
  );
}
