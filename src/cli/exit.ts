import { CommanderError } from "commander";
import { causeText, ErrorCode, JetrouteError } from "../errors/index.js";

/** The exit codes of `jetroute`, documented in docs/cli.md. */
export const ExitCode = {
  /** The command did what was asked. */
  Ok: 0,
  /** The operation failed: unknown stream, server refused, nothing matched, lost connection. */
  Failed: 1,
  /** Bad usage: unknown command or option, missing or malformed argument, refused prompt. */
  Usage: 2,
  /** Interrupted with Ctrl-C (128 + SIGINT), after cleaning up. */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Bad usage: the command line itself is wrong. Exit 2; the message names the flag or argument. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** An operation that failed for a reason the user can act on. Exit 1. */
export class OperationError extends Error {
  override readonly name = "OperationError";
}

/** The user pressed Ctrl-C; the command stopped cleanly. Exit 130. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  constructor(message = "interrupted") {
    super(message);
  }
}

// A bad value the user typed reaches the library as an option; its refusal is bad usage too.
const USAGE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.InvalidOption,
  ErrorCode.InvalidDuration,
  ErrorCode.InvalidSubject,
  ErrorCode.InvalidStreamName,
]);

/** Commander's codes that are not errors: `--help`, `--version`. */
const COMMANDER_OK: ReadonlySet<string> = new Set(["commander.helpDisplayed", "commander.version"]);

/** The exit code for an error thrown by a command (or by commander while parsing). */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CommanderError) {
    if (COMMANDER_OK.has(err.code)) return ExitCode.Ok;
    // `help <cmd>` exits 0 with it; a missing subcommand shows help on stderr with exitCode 1
    if (err.code === "commander.help" && err.exitCode === 0) return ExitCode.Ok;
    return ExitCode.Usage;
  }
  if (err instanceof UsageError) return ExitCode.Usage;
  if (err instanceof InterruptedError) return ExitCode.Interrupted;
  if (err instanceof JetrouteError && USAGE_CODES.has(err.code)) return ExitCode.Usage;
  return ExitCode.Failed;
}

/**
 * The one line printed after `jetroute: `. JetrouteError messages start with their code
 * (`ERR_CONNECT_FAILED: could not connect ...`): the code is for programs, not for the reader.
 */
export function messageFor(err: unknown): string {
  let text: string;
  if (err instanceof CommanderError) {
    // commander showed the command's help on stderr for a missing subcommand
    if (err.code === "commander.help") return "a command is required (see the list above)";
    // its suggestion comes on a second line: keep it on ours
    text = err.message.replace(/^error: /, "").replace(/\n/g, " ");
  } else if (err instanceof JetrouteError) {
    text = err.message.startsWith(`${err.code}: `)
      ? err.message.slice(err.code.length + 2)
      : err.message;
  } else {
    text = causeText(err);
  }
  // one line: a multi-line cause (a server's message, a stack) is for --debug
  return text.split("\n")[0]?.trim() || "unknown error";
}

/** The whole story for `--debug`: stacks and the cause chain. */
export function debugText(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e !== undefined && e !== null && !seen.has(e)) {
    seen.add(e);
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
    e = e instanceof Error ? e.cause : undefined;
    if (e !== undefined) parts.push("caused by:");
  }
  return parts.join("\n");
}
