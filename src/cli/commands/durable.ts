// `jetroute durable reset <stream> <durable> --to <seq|time>`: moves a durable consumer so it
// delivers again from a position (the reset API on 2.14+, else a recreate; see resetDurable).
import { type ResetResult, resetDurable } from "../api.js";
import { checkCanConfirm, confirm } from "../confirm.js";
import type { CommandContext } from "../context.js";
import { OperationError } from "../exit.js";
import { toFailure } from "../failures.js";
import { printJson } from "../output.js";
import {
  checkDurableArg,
  checkPositionFlag,
  checkStreamArg,
  describeFlagPosition,
} from "../parse.js";

export async function durableReset(
  ctx: CommandContext,
  streamArg: string,
  durableArg: string,
  flags: { to: string; yes?: boolean },
): Promise<void> {
  const stream = checkStreamArg("<stream>", streamArg);
  const durable = checkDurableArg("<durable>", durableArg);
  const position = checkPositionFlag("--to", flags.to);
  checkCanConfirm(ctx.io, flags.yes === true, `reset durable "${durable}"`);
  const conn = await ctx.connect();
  if (flags.yes !== true) {
    const ok = await confirm(
      ctx.io,
      `Reset durable "${durable}" on "${stream}" to ${describeFlagPosition(position)}? Its consumers get every message from there again.`,
    );
    if (!ok) throw new OperationError("reset not confirmed; the durable is unchanged");
  }
  let result: ResetResult;
  try {
    result = await resetDurable(conn, stream, durable, { to: flags.to });
  } catch (err) {
    if ((err as { code?: unknown }).code === "ERR_DURABLE_RUNNING") {
      throw new OperationError(`durable "${durable}" is in use by a running route; stop it first`, {
        cause: err,
      });
    }
    throw toFailure(err, { stream, consumer: durable });
  }
  if (ctx.json) return printJson(ctx.io, { stream, durable, to: flags.to, ...result });
  ctx.io.stdout.write(
    `durable "${durable}" on "${stream}" reset to ${describeFlagPosition(position)} (${result.method})\n`,
  );
}
