// Turning command-line strings into values, each refusal a UsageError naming the flag and what
// it accepts. Checked before anything is dialled.
import { toTimerMillis } from "../duration/index.js";
import { parseStartAt, resolveTime, type StreamPosition } from "../position/index.js";
import { UsageError } from "./exit.js";

/** `--timeout 5s` -> 5000. */
export function parseDurationFlag(flag: string, value: string): number {
  try {
    return toTimerMillis(value, flag);
  } catch {
    throw new UsageError(
      `${flag} must be a duration such as "500ms", "5s" or "1m", got ${JSON.stringify(value)}`,
    );
  }
}

/** What a position flag accepts, in command-line terms (parseStartAt's, less the Date). */
export const POSITION_EXPECTED =
  'a stream sequence (integer >= 1), an ISO 8601 time ("2026-11-30T08:00:00Z"), a duration back from now ("90s", "15m", "2h", "7d"), "all", "new" or "last-per-subject"';

/** A stream position (`--from`, `--to`): what `parseStartAt` accepts. The string is kept (an
 * `ago` must be resolved when used); this only checks it. */
export function checkPositionFlag(flag: string, value: string, now = new Date()): StreamPosition {
  try {
    return parseStartAt(value, flag, undefined, now);
  } catch {
    throw new UsageError(`${flag} must be ${POSITION_EXPECTED}, got ${JSON.stringify(value)}`);
  }
}

const TIME_EXPECTED =
  'an ISO 8601 time ("2026-11-30T08:00:00Z") or a duration back from now ("90s", "15m", "2h", "7d")';

/** `--since 2h`, `--before 2026-11-30T08:00:00Z` -> the Date it stands for now. */
export function parseTimeFlag(flag: string, value: string, now = new Date()): Date {
  let position: StreamPosition | undefined;
  try {
    position = parseStartAt(value, flag, undefined, now);
  } catch {
    position = undefined;
  }
  const time = position ? resolveTime(position, now) : undefined;
  if (!time) throw new UsageError(`${flag} must be ${TIME_EXPECTED}, got ${JSON.stringify(value)}`);
  return time;
}

/** A stream sequence given as an argument: an integer >= 1. */
export function parseSeqArg(name: string, value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(
      `${name} must be a stream sequence (an integer >= 1), got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** A count such as `--limit 50`: an integer >= 1. */
export function parseCountFlag(flag: string, value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A stream name: what JetStream accepts (no whitespace, `.`, `*`, `>`, path separators). */
export function checkStreamArg(name: string, value: string): string {
  if (value.length === 0 || /[\s.*>/\\]/.test(value)) {
    throw new UsageError(
      `${name} must be a stream name (no spaces, ".", "*", ">", "/" or "\\"), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** A durable name: same rules as a stream name. */
export function checkDurableArg(name: string, value: string): string {
  if (value.length === 0 || /[\s.*>/\\]/.test(value)) {
    throw new UsageError(
      `${name} must be a durable name (no spaces, ".", "*", ">", "/" or "\\"), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** A subject to publish to or filter on: dot-separated tokens, no spaces or empty tokens. */
export function checkSubjectFlag(flag: string, value: string, wildcards: boolean): string {
  const tokens = value.split(".");
  const ok =
    value.length > 0 &&
    !/\s/.test(value) &&
    tokens.every((t, i) => {
      if (t.length === 0) return false;
      if (t === "*" || t === ">") return wildcards && (t === "*" || i === tokens.length - 1);
      return !/[*>]/.test(t);
    });
  if (!ok) {
    const what = wildcards
      ? "a subject (wildcards * and > allowed)"
      : "a subject without wildcards";
    throw new UsageError(`${flag} must be ${what}, got ${JSON.stringify(value)}`);
  }
  return value;
}
