// `jetroute replay <stream> --from ... --exec module#export`: runs a handler (or a route) over
// a range of a stream, with progress on a terminal and Ctrl-C stopping after the message in
// flight.

import type { Logger } from "../../logger/index.js";
import type { RouteDraft } from "../../router/index.js";
import {
  RouteOptionName,
  route,
  withMaxDeliver,
  withStream,
  withSubject,
} from "../../router/index.js";
import { type ReplaySummary, replay } from "../api.js";
import type { CommandContext } from "../context.js";
import { InterruptedError, OperationError, UsageError } from "../exit.js";
import { toFailure } from "../failures.js";
import { escapeControls, note, printFields, printJson } from "../output.js";
import {
  checkPositionFlag,
  checkRange,
  checkStreamArg,
  checkSubjectFlag,
  parseCountFlag,
} from "../parse.js";
import { startProgress } from "../progress.js";
import { type ExecTarget, loadExecTarget } from "./exec-module.js";

export interface ReplayFlags {
  from: string;
  to?: string;
  subject?: string;
  maxDeliver?: string;
  exec: string;
}

/** What a route's options set for `withStream` / `withSubject` (read by applying them). */
function routeTarget(r: { options: readonly unknown[] }): { stream?: unknown; subject?: unknown } {
  const draft: RouteDraft = { values: new Map(), set: new Set(), middleware: [] };
  for (const option of r.options) if (typeof option === "function") option(draft);
  return {
    stream: draft.values.get(RouteOptionName.Stream),
    subject: draft.values.get(RouteOptionName.Subject),
  };
}

/**
 * The route to replay. A handler gets `route("replay", handler, withStream, withSubject)` and
 * needs --subject. A route keeps its own options; <stream> and --subject must agree with what
 * it declares (or it must not declare them), so a replay never runs a route somewhere else
 * than it says.
 */
export function replayRoute(
  target: ExecTarget,
  stream: string,
  subject: string | undefined,
  maxDeliver?: number,
) {
  if (target.kind === "handler") {
    if (subject === undefined) {
      throw new UsageError("--subject is required when --exec names a handler function");
    }
    // A bare handler has no retry policy of its own: a failure counts at once unless asked.
    return route(
      "replay",
      target.handler,
      withStream(stream),
      withSubject(subject),
      withMaxDeliver(maxDeliver ?? 1),
    );
  }
  const declared = routeTarget(target.route);
  const extra = maxDeliver === undefined ? [] : [withMaxDeliver(maxDeliver)];
  if (declared.stream === undefined) extra.push(withStream(stream));
  else if (declared.stream !== stream) {
    throw new UsageError(
      `<stream> is "${stream}" but route "${String(target.route.name)}" consumes stream ${JSON.stringify(declared.stream)}`,
    );
  }
  if (declared.subject === undefined) {
    if (subject === undefined) {
      throw new UsageError(
        `--subject is required: route "${String(target.route.name)}" declares no subject`,
      );
    }
    extra.push(withSubject(subject));
  } else if (
    subject !== undefined &&
    JSON.stringify(declared.subject) !== JSON.stringify(subject)
  ) {
    throw new UsageError(
      `--subject is "${subject}" but route "${String(target.route.name)}" consumes ${JSON.stringify(declared.subject)}; omit --subject to use the route's`,
    );
  }
  const r = target.route;
  return extra.length === 0
    ? r
    : { name: r.name, handler: r.handler, options: Object.freeze([...r.options, ...extra]) };
}

/** A message that failed for good: its stream sequence and why. */
export interface ReplayError {
  readonly seq: number | null;
  readonly error: string;
}

/** At most this many failures are kept for --json (the count is always exact). */
const MAX_ERRORS = 100;
/** At most this many are printed on stderr. */
const SHOWN_ERRORS = 10;

/**
 * The replay's logger: it keeps the messages that failed for good (the engine logs each with
 * its `seq` binding and the reason) so the CLI can show why, and drops the rest.
 */
class FailureCollector implements Logger {
  readonly #sink: { errors: ReplayError[]; count: number };
  readonly #seq: number | null;

  constructor(sink: { errors: ReplayError[]; count: number }, seq: number | null = null) {
    this.#sink = sink;
    this.#seq = seq;
  }
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(obj: object, msg?: string): void {
    if (!msg?.startsWith("replayed message failed")) return;
    this.#sink.count++;
    if (this.#sink.errors.length >= MAX_ERRORS) return;
    const { reason, err } = obj as { reason?: unknown; err?: unknown };
    const error =
      typeof reason === "string" ? reason : err instanceof Error ? err.message : String(err);
    this.#sink.errors.push({ seq: this.#seq, error });
  }
  child(bindings: Record<string, unknown>): Logger {
    const seq = typeof bindings.seq === "number" ? bindings.seq : this.#seq;
    return new FailureCollector(this.#sink, seq);
  }
}

export async function replayCommand(
  ctx: CommandContext,
  streamArg: string,
  flags: ReplayFlags,
): Promise<void> {
  const stream = checkStreamArg("<stream>", streamArg);
  const from = checkPositionFlag("--from", flags.from);
  const to = checkPositionFlag("--to", flags.to ?? "end", true);
  checkRange(from, to, { from: flags.from, to: flags.to ?? "end" });
  const subject =
    flags.subject === undefined ? undefined : checkSubjectFlag("--subject", flags.subject, true);
  const target = await loadExecTarget(flags.exec, process.cwd());
  const maxDeliver =
    flags.maxDeliver === undefined ? undefined : parseCountFlag("--max-deliver", flags.maxDeliver);
  const replayable = replayRoute(target, stream, subject, maxDeliver);
  const conn = await ctx.connect();
  ctx.interrupts.cancellable();
  const progress = startProgress(ctx.io, "replaying");
  const failures = { errors: [] as ReplayError[], count: 0 };
  let summary: ReplaySummary;
  try {
    summary = await replay(conn, replayable, {
      logger: new FailureCollector(failures),
      from: flags.from,
      ...(flags.to === undefined ? {} : { to: flags.to }),
      signal: ctx.interrupts.signal,
      onProgress: (p) =>
        progress.update(
          p.delivered,
          p.delivered + p.remaining,
          `handled ${p.handled} failed ${p.failed} dead-lettered ${p.deadLettered}`,
        ),
    });
  } catch (err) {
    throw toFailure(err, { stream });
  } finally {
    progress.stop();
  }
  const aborted = summary.aborted || ctx.interrupts.signal.aborted;
  for (const f of failures.errors.slice(0, SHOWN_ERRORS)) {
    note(ctx.io, `  seq ${f.seq ?? "?"} failed: ${escapeControls(f.error)}`);
  }
  if (failures.count > SHOWN_ERRORS) {
    note(ctx.io, `  ... and ${failures.count - SHOWN_ERRORS} more failures`);
  }
  if (ctx.json) {
    printJson(ctx.io, {
      stream,
      ...summary,
      // JSON has no undefined: a range with nothing in it has no first or last sequence
      firstSeq: summary.firstSeq ?? null,
      lastSeq: summary.lastSeq ?? null,
      aborted,
      errors: failures.errors,
    });
  } else if (summary.firstSeq === undefined && !aborted) {
    note(
      ctx.io,
      `nothing to replay: no messages in "${stream}" from --from ${flags.from} to --to ${flags.to ?? "end"}${subject === undefined ? "" : ` on ${subject}`}`,
    );
  } else {
    const range =
      summary.firstSeq === undefined ? "nothing" : `seq ${summary.firstSeq}..${summary.lastSeq}`;
    printFields(ctx.io, [
      ["replayed", `${stream} ${range} (end ${summary.endSeq})`],
      ["delivered", summary.delivered],
      ["handled", summary.handled],
      ["failed", summary.failed],
      ["dead-lettered", summary.deadLettered],
      ...(summary.skipped > 0 ? [["skipped", summary.skipped] as const] : []),
      ...(aborted || summary.interrupted > 0
        ? [["interrupted", summary.interrupted] as const]
        : []),
      ["took", `${(summary.durationMs / 1000).toFixed(1)}s`],
    ]);
  }
  if (aborted) {
    throw new InterruptedError(
      summary.lastSeq === undefined ? "interrupted" : `interrupted at seq ${summary.lastSeq}`,
    );
  }
  if (summary.failed > 0) {
    throw new OperationError(`${summary.failed} of ${summary.delivered} messages failed`);
  }
}
