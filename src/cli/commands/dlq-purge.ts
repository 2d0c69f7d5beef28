// `jetroute dlq purge`: delete dead letters (all, or filtered), confirmed unless --yes.
import type { Connection } from "../../conn/index.js";
import { type DeadLetterFilter, listDeadLetters, purgeDeadLetters } from "../api.js";
import { checkCanConfirm, confirm } from "../confirm.js";
import type { CommandContext } from "../context.js";
import { InterruptedError, OperationError } from "../exit.js";
import { toFailure } from "../failures.js";
import { printJson } from "../output.js";
import { checkStreamArg } from "../parse.js";
import { describeFilter, type FilterFlags, parseFilter } from "./dlq-filter.js";

/**
 * What a confirmation counts: the matching letters up to the DLQ stream's last sequence now.
 * The purge is then bounded by that sequence, so letters stored while the prompt waits stay.
 */
async function countForPrompt(
  conn: Connection,
  stream: string,
  filter: DeadLetterFilter,
): Promise<{ count: number; firstSeq: number; throughSeq: number }> {
  try {
    const jsm = await conn.jetstreamManager();
    const throughSeq = (await jsm.streams.info(stream)).state.last_seq;
    const seqs = (await listDeadLetters(conn, stream, { filter }))
      .map((l) => l.seq)
      .filter((seq) => seq <= throughSeq);
    return { count: seqs.length, firstSeq: seqs[0] ?? 0, throughSeq };
  } catch (err) {
    throw toFailure(err, { stream });
  }
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
  let throughSeq: number | undefined;
  if (flags.yes !== true) {
    const counted = await countForPrompt(conn, stream, filter);
    const { count } = counted;
    throughSeq = counted.throughSeq;
    if (count === 0) {
      throw new OperationError(
        `nothing matched: no dead letters in "${stream}" match ${describeFilter(flags)}`,
      );
    }
    const ok = await confirm(
      ctx.io,
      `Purge ${count} dead letter${count === 1 ? "" : "s"} (seq ${counted.firstSeq}..${throughSeq}) from "${stream}" matching ${describeFilter(flags)}? Dead letters stored after seq ${throughSeq} are kept. This cannot be undone.`,
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
      ...(throughSeq === undefined ? {} : { throughSeq }),
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
