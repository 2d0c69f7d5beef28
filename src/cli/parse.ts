// Turning command-line strings into values, each refusal a UsageError naming the flag and what
// it accepts. Checked before anything is dialled.
import { toTimerMillis } from "../duration/index.js";
import {
  describePosition,
  parseStartAt,
  resolveTime,
  type StreamPosition,
} from "../position/index.js";
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

const SEQ_TIME_AGO =
  'a stream sequence (integer >= 1), an ISO 8601 time ("2026-11-30T08:00:00Z") or a duration back from now ("90s", "15m", "2h", "7d")';

/** What a start flag accepts (`replay --from`, `durable reset --to`). */
export const START_EXPECTED = `${SEQ_TIME_AGO.replace(" or a duration", ", a duration")} or "all"`;
/** What `replay --to` accepts. */
export const END_EXPECTED = `${SEQ_TIME_AGO.replace(" or a duration", ", a duration")} or "end"`;

/** A position a command line can give: where to start (`all`) or stop (`end`), a seq, a time. */
export type FlagPosition =
  | { readonly kind: "all" }
  | { readonly kind: "end" }
  | { readonly kind: "seq"; readonly seq: number }
  | { readonly kind: "time"; readonly time: Date }
  | { readonly kind: "ago"; readonly ms: number };

// Later than any time a flag names: parseStartAt refuses future times (right for a start), so
// it is asked with this "now" and the future is judged here, per flag.
const FAR_FUTURE = new Date(8.64e15);

/**
 * A stream position flag: a start (`replay --from`, `durable reset --to`: a sequence, a time,
 * a duration back, `all`) or an end (`replay --to`: the same with `end` instead of `all`).
 * Only what the flag accepts is listed and accepted; a time must not be in the future.
 */
export function checkPositionFlag(
  flag: string,
  value: string,
  end = false,
  now = new Date(),
): FlagPosition {
  const expected = end ? END_EXPECTED : START_EXPECTED;
  const refuse = (): never => {
    throw new UsageError(`${flag} must be ${expected}, got ${JSON.stringify(value)}`);
  };
  if (value.trim() === (end ? "end" : "all")) return { kind: end ? "end" : "all" };
  let position: StreamPosition;
  try {
    position = parseStartAt(value, flag, undefined, FAR_FUTURE);
  } catch {
    return refuse();
  }
  switch (position.kind) {
    case "seq":
    case "ago":
      return position;
    case "time":
      if (position.time.getTime() > now.getTime() + 1_000) {
        throw new UsageError(
          `${flag} must not be in the future (now is ${now.toISOString()}), got ${JSON.stringify(value)}`,
        );
      }
      return position;
    default:
      return refuse();
  }
}

/** A position as people write it: `all`, `end`, `seq 42`, an ISO time, `2h ago`. */
export function describeFlagPosition(position: FlagPosition): string {
  return position.kind === "end" ? "end" : describePosition(position);
}

/**
 * `replay --from A --to B`: a range that ends before it starts is bad usage. Compared only
 * when both are sequences, or both times (a sequence and a time are only comparable on the
 * server).
 */
export function checkRange(
  from: FlagPosition,
  to: FlagPosition,
  given: { from: string; to: string },
  now = new Date(),
): void {
  const time = (p: FlagPosition): number | undefined =>
    p.kind === "time" ? p.time.getTime() : p.kind === "ago" ? now.getTime() - p.ms : undefined;
  const after =
    from.kind === "seq" && to.kind === "seq"
      ? from.seq > to.seq
      : (time(from) ?? Number.NaN) > (time(to) ?? Number.NaN);
  if (after) {
    throw new UsageError(
      `--from must not be after --to, got --from ${given.from} --to ${given.to}`,
    );
  }
}

const TIME_EXPECTED =
  'an ISO 8601 time ("2026-11-30T08:00:00Z") or a duration back from now ("90s", "15m", "2h", "7d")';

/**
 * `--since 2h`, `--before 2026-11-30T08:00:00Z` -> the Date it stands for now. A time in the
 * future is fine for a filter (`--before` tomorrow matches everything so far).
 */
export function parseTimeFlag(flag: string, value: string, now = new Date()): Date {
  let position: StreamPosition | undefined;
  try {
    position = parseStartAt(value, flag, undefined, FAR_FUTURE);
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
