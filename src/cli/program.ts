// The `jetroute` command line: commander program, global flags, and `run`, which turns any
// outcome into an exit code and at most one line on stderr.
import { Command, Option } from "commander";
import { JETROUTE_VERSION } from "../version.js";
import { consumersLs } from "./commands/consumers.js";
import { dlqLs, dlqShow } from "./commands/dead-letters.js";
import { dlqPurge } from "./commands/dlq-purge.js";
import { dlqRedrive } from "./commands/dlq-redrive.js";
import { durableReset } from "./commands/durable.js";
import { replayCommand } from "./commands/replay.js";
import { streamsLs } from "./commands/streams.js";
import { addConnectionOptions } from "./connection.js";
import { type CommandContext, ConnectionSlot, makeContext } from "./context.js";
import { debugText, ExitCode, exitCodeFor, messageFor } from "./exit.js";
import type { Io } from "./output.js";
import { type Interrupts, installInterrupts } from "./signals.js";

// Each command function takes the context, then its own arguments and options (typed there).
// biome-ignore lint/suspicious/noExplicitAny: commander hands them over untyped
type Action = (ctx: CommandContext, ...args: any[]) => Promise<void>;

interface Runtime {
  readonly io: Io;
  readonly interrupts: Interrupts;
  readonly slot: ConnectionSlot;
}

/** Wraps a command function as a commander action: (args..., options, command). */
function act(rt: Runtime, fn: Action) {
  return async (...received: unknown[]): Promise<void> => {
    const command = received.at(-1) as Command;
    const ctx = makeContext(command, rt.io, rt.interrupts, rt.slot);
    // commander passes the positional arguments, then the command's options, then the command
    await fn(ctx, ...received.slice(0, -1));
  };
}

const FILTER_HELP = `
Filters (all optional, combined with AND):
  --route R, --durable D     the route / durable that dead-lettered the message
  --subject S                its original subject (wildcards * and > allowed)
  --reason TEXT              its error contains TEXT
  --since T, --before T      stored at or after / before T: an ISO time or "2h", "7d"`;

function addFilterOptions(cmd: Command): Command {
  return cmd
    .option("--route <route>", "only dead letters of this route")
    .option("--durable <durable>", "only dead letters of this durable")
    .option("--subject <subject>", "only dead letters whose original subject matches")
    .option("--reason <text>", "only dead letters whose error contains this text")
    .option("--since <time>", 'only dead letters stored at or after: ISO time or "2h"')
    .option("--before <time>", 'only dead letters stored before: ISO time or "2h"')
    .addHelpText("after", FILTER_HELP);
}

const JSON_HELP = "print machine-readable JSON on stdout";

export function buildProgram(rt: Runtime): Command {
  const program = new Command("jetroute")
    .description("Inspect and operate NATS JetStream services built with jetroute.")
    .version(JETROUTE_VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .addOption(new Option("--debug", "print stack traces on errors (or JETROUTE_DEBUG=1)"))
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => rt.io.stdout.write(s),
      writeErr: (s) => rt.io.stderr.write(s),
      // `run` prints the one-line message itself
      outputError: () => {},
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      `
Exit codes: 0 success, 1 the operation failed, 2 bad usage, 130 interrupted (Ctrl-C).
Docs: docs/cli.md`,
    );
  addConnectionOptions(program);

  const streams = program.command("streams").description("JetStream streams");
  streams
    .command("ls")
    .description("list streams: subjects, messages, bytes, consumers, first and last sequence")
    .option("--json", JSON_HELP)
    .action(act(rt, streamsLs));

  const consumers = program.command("consumers").description("JetStream consumers");
  consumers
    .command("ls")
    .description("list a stream's consumers: pending, ack pending, redelivered, waiting")
    .argument("<stream>", "the stream")
    .option("--json", JSON_HELP)
    .action(act(rt, consumersLs));

  const dlq = program.command("dlq").description("dead letters: list, show, redrive, purge");
  addFilterOptions(
    dlq
      .command("ls")
      .description("list dead letters")
      .argument("<dlq-stream>", "the dead-letter stream")
      .option("--limit <n>", "list at most n (oldest first)")
      .option("--json", JSON_HELP),
  ).action(act(rt, dlqLs));
  dlq
    .command("show")
    .description("show one dead letter: trace headers, error and payload")
    .argument("<dlq-stream>", "the dead-letter stream")
    .argument("<seq>", "its sequence in the dead-letter stream (from dlq ls)")
    .option("--json", JSON_HELP)
    .action(act(rt, dlqShow));
  addFilterOptions(
    dlq
      .command("redrive")
      .description(
        "publish dead letters again to their original subject (each once, even when re-run), then remove them",
      )
      .argument("<dlq-stream>", "the dead-letter stream")
      .option("--to <subject>", "publish to this subject instead of the original one")
      .option("--dry-run", "only report what would be redriven")
      .option("--keep", "keep the dead letters after publishing them")
      .option(
        "--all-consumers",
        "let every route on the subject run them again (by default only the durable that gave up on each)",
      )
      .option("--json", JSON_HELP),
  ).action(act(rt, dlqRedrive));
  addFilterOptions(
    dlq
      .command("purge")
      .description("delete dead letters (asks first unless --yes)")
      .argument("<dlq-stream>", "the dead-letter stream")
      .option("-y, --yes", "do not ask for confirmation (required without a terminal)")
      .option("--json", JSON_HELP),
  ).action(act(rt, dlqPurge));

  program
    .command("replay")
    .description("run a handler over a range of a stream's messages, from the command line")
    .argument("<stream>", "the stream to replay")
    .requiredOption(
      "--from <position>",
      'where to start: a sequence, an ISO time, a duration back ("2h"), or "all"',
    )
    .option(
      "--to <position>",
      'where to stop (inclusive): a sequence, an ISO time, a duration back ("1h"), or "end"',
      "end",
    )
    .option("--subject <subject>", "the subject to replay (required with a handler)")
    .option(
      "--max-deliver <n>",
      "runs per message before it counts as failed (or goes to the route's DLQ); default: the route's, 1 for a handler",
    )
    .requiredOption(
      "--exec <module#export>",
      "the handler or route to run: a module path (relative to here) and its export (default: default)",
    )
    .option("--json", JSON_HELP)
    .action(act(rt, replayCommand));

  const durable = program.command("durable").description("durable consumers");
  durable
    .command("reset")
    .description("move a durable so it delivers again from a sequence or time")
    .argument("<stream>", "the stream")
    .argument("<durable>", "the durable consumer")
    .requiredOption(
      "--to <position>",
      'a sequence, an ISO time, a duration back ("2h"), or "all" (the first message)',
    )
    .option("-y, --yes", "do not ask for confirmation (required without a terminal)")
    .option("--json", JSON_HELP)
    .action(act(rt, durableReset));

  return program;
}

/**
 * Runs the command line `argv` (without node and the script) and resolves with the exit code.
 * The connection a command opened is closed whatever happened.
 */
export async function run(
  argv: readonly string[],
  io: Io,
  exit: (code: number) => never = (code) => process.exit(code),
): Promise<number> {
  const interrupts = installInterrupts(io, exit);
  const slot = new ConnectionSlot();
  const program = buildProgram({ io, interrupts, slot });
  const debug = argv.includes("--debug") || isTrue(io.env.JETROUTE_DEBUG);
  try {
    await program.parseAsync(helpArgs(argv), { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    const code = exitCodeFor(err);
    if (code !== ExitCode.Ok) {
      io.stderr.write(`jetroute: ${messageFor(err)}\n`);
      if (debug) io.stderr.write(`${debugText(err)}\n`);
    }
    return code;
  } finally {
    await slot.close().catch(() => {});
    interrupts.dispose();
  }
}

/**
 * `jetroute help dlq redrive` -> `jetroute dlq redrive --help`: commander's help command looks
 * up one level only, and would show `dlq`'s help.
 */
function helpArgs(argv: readonly string[]): string[] {
  const [first, ...rest] = argv;
  if (first !== "help" || rest.length === 0 || rest.some((a) => a.startsWith("-"))) {
    return [...argv];
  }
  return [...rest, "--help"];
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}
