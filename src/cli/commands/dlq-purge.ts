// `jetroute dlq purge`: delete dead letters (all, or filtered), confirmed unless --yes.
import { purgeDeadLetters } from "../api.js";
import { checkCanConfirm, confirm } from "../confirm.js";
import type { CommandContext } from "../context.js";
import { InterruptedError, OperationError } from "../exit.js";
import { toFailure } from "../failures.js";
import { printJson } from "../output.js";
import { checkStreamArg } from "../parse.js";
import { countMatching, describeFilter, type FilterFlags, parseFilter } from "./dlq-filter.js";

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
