// Asking before something that cannot be undone (purge, reset). With no terminal to ask on and
// no --yes, refuse at once (exit 2) rather than wait for input that never comes.
import { createInterface } from "node:readline/promises";
import { InterruptedError, UsageError } from "./exit.js";
import type { Io } from "./output.js";

/** Throws UsageError when a prompt would be needed but stdin is not a terminal. */
export function checkCanConfirm(io: Io, yes: boolean, what: string): void {
  if (yes || io.stdin.isTTY) return;
  throw new UsageError(
    `refusing to ${what} without confirmation: stdin is not a terminal; pass --yes`,
  );
}

/** Asks `question [y/N]` on stderr; true only for y/yes. Ctrl-C at the prompt: InterruptedError. */
export async function confirm(io: Io, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  const interrupted = new AbortController();
  // a terminal readline turns Ctrl-C into its own event (and pauses) instead of SIGINT
  rl.once("SIGINT", () => interrupted.abort());
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: interrupted.signal });
    return /^(y|yes)$/i.test(answer.trim());
  } catch (err) {
    if (interrupted.signal.aborted) throw new InterruptedError();
    throw err;
  } finally {
    rl.close();
  }
}
