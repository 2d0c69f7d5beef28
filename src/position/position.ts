import { type ConsumerConfig, DeliverPolicy } from "@nats-io/jetstream";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";

/**
 * A place in a stream: where a durable starts (`withStartAt`), where a replay starts or ends,
 * where a durable is rewound to. `ago` is a time relative to when it is used (resolve it with
 * `resolveTime` at that moment, never at parse time).
 */
export type StreamPosition =
  /** The stream's first stored message (`deliver_policy: all`). */
  | { readonly kind: "all" }
  /** Only messages stored after the consumer is created (`deliver_policy: new`). */
  | { readonly kind: "new" }
  /** The last message of each subject, then every new one (`deliver_policy: last_per_subject`). */
  | { readonly kind: "last-per-subject" }
  /** From a stream sequence (`deliver_policy: by_start_sequence`). */
  | { readonly kind: "seq"; readonly seq: number }
  /** From the first message stored at or after a time (`deliver_policy: by_start_time`). */
  | { readonly kind: "time"; readonly time: Date }
  /** From a duration back from now, in ms (`by_start_time`, resolved when used). */
  | { readonly kind: "ago"; readonly ms: number };

/**
 * What `withStartAt`, `replay({ from })` and `resetDurable` accept:
 * - `"all"`, `"new"`, `"last-per-subject"`;
 * - a stream sequence: an integer >= 1, or a string of digits (`"1042"`);
 * - a time: a `Date`, or an ISO 8601 string with a date (`"2026-11-30T08:00:00Z"`);
 * - a duration back from now: `"90s"`, `"15m"`, `"2h"`, `"7d"` (units ms, s, m, h, d).
 */
export type StartAt = "all" | "new" | "last-per-subject" | number | Date | string;

const AGO = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// A date, optionally with a time and a zone: what `Date.parse` reads the same way everywhere.
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export const START_AT_EXPECTED =
  '"all", "new", "last-per-subject", a stream sequence (integer >= 1), a Date, an ISO 8601 time ("2026-11-30T08:00:00Z") or a duration back from now ("90s", "15m", "2h", "7d")';

/**
 * Parses a position. Throws ErrInvalidOption naming `option` (and `route`) and what is
 * accepted (`expected`, for callers that take fewer kinds): for a sequence below 1 or not an
 * integer, an invalid Date, an unparsable string, a time in the future.
 * @example parseStartAt("2h", "withStartAt") // { kind: "ago", ms: 7200000 }
 */
export function parseStartAt(
  value: unknown,
  option: string,
  route?: string,
  now: Date = new Date(),
  expected: string = START_AT_EXPECTED,
): StreamPosition {
  const parsed = parse(value);
  if (parsed === undefined) {
    throw new ErrInvalidOption(invalidValueMessage(option, value, expected, route));
  }
  if (parsed.kind === "time" && parsed.time.getTime() > now.getTime() + FUTURE_SLACK_MS) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        option,
        value,
        `a time not in the future (now is ${now.toISOString()})`,
        route,
      ),
    );
  }
  return parsed;
}

/** Clock skew tolerated between the caller's "now" and a time it computed a moment ago. */
const FUTURE_SLACK_MS = 1_000;

function parse(value: unknown): StreamPosition | undefined {
  if (value === "all" || value === "new" || value === "last-per-subject") return { kind: value };
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 1 ? { kind: "seq", seq: value } : undefined;
  }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? undefined : { kind: "time", time: new Date(value) };
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return parse(Number(text));
  const ago = AGO.exec(text);
  if (ago?.[1] !== undefined && ago[2] !== undefined) {
    const ms = Math.round(Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS]);
    return Number.isFinite(ms) ? { kind: "ago", ms } : undefined;
  }
  if (!ISO.test(text)) return undefined;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? undefined : { kind: "time", time };
}

/** The time a `time` or `ago` position stands for at `now`; undefined for the others. */
export function resolveTime(position: StreamPosition, now: Date = new Date()): Date | undefined {
  if (position.kind === "time") return position.time;
  if (position.kind === "ago") return new Date(now.getTime() - position.ms);
  return undefined;
}

/**
 * The consumer config fields that start a consumer at `position` (`deliver_policy` plus
 * `opt_start_seq` / `opt_start_time`), an `ago` resolved at `now`.
 */
export function deliverConfig(
  position: StreamPosition,
  now: Date = new Date(),
): Pick<Partial<ConsumerConfig>, "deliver_policy" | "opt_start_seq" | "opt_start_time"> {
  switch (position.kind) {
    case "all":
      return { deliver_policy: DeliverPolicy.All };
    case "new":
      return { deliver_policy: DeliverPolicy.New };
    case "last-per-subject":
      return { deliver_policy: DeliverPolicy.LastPerSubject };
    case "seq":
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: position.seq };
    case "time":
    case "ago":
      return {
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: (resolveTime(position, now) as Date).toISOString(),
      };
  }
}

/** A position as people write it: `all`, `new`, `last-per-subject`, `seq 42`, an ISO time, `2h ago`. */
export function describePosition(position: StreamPosition): string {
  switch (position.kind) {
    case "all":
    case "new":
    case "last-per-subject":
      return position.kind;
    case "seq":
      return `seq ${position.seq}`;
    case "time":
      return position.time.toISOString();
    case "ago":
      return `${formatAgo(position.ms)} ago`;
  }
}

function formatAgo(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
