import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { parseStartAt, resolveTime } from "../position/index.js";
import { subjectMatches, validateFilterSubject } from "../subject/index.js";
import type { DeadLetter, DeadLetterFilter } from "./types.js";

/** A validated filter, its relative times resolved. */
export interface ResolvedFilter {
  /** True when `letter` passes every condition. */
  matches(letter: DeadLetter): boolean;
  /** The `since` time, for starting the read there instead of at the first letter. */
  readonly since: Date | undefined;
  /** True when the filter has no condition at all. */
  readonly empty: boolean;
}

const FIELDS = new Set(["route", "durable", "subject", "reason", "since", "before"]);
const EVERY: Readonly<Record<string, string>> = {
  route: "every route",
  durable: "every durable",
  subject: "every original subject",
  reason: "every reason",
  since: "letters of any age",
  before: "letters of any age",
};
const TIME_EXPECTED =
  'a Date, an ISO 8601 time ("2026-11-30T08:00:00Z") or a duration back from now ("90s", "15m", "2h", "7d")';

/**
 * Validates `filter` once and resolves `since` / `before` durations against `now`. Throws
 * ErrInvalidOption naming the field (`filter.route`, `filter.since`, ...) for a bad value, an
 * unknown field or a field present with the value `undefined` (an unset variable must not widen
 * a purge to every letter: leave the key out instead), and ErrInvalidSubject for a bad
 * `filter.subject`.
 * @example resolveDeadLetterFilter({ route: "billing", since: "2h" }).matches(letter)
 */
export function resolveDeadLetterFilter(
  filter: DeadLetterFilter | undefined,
  now: Date = new Date(),
): ResolvedFilter {
  if (filter === undefined) return { matches: () => true, since: undefined, empty: true };
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw new ErrInvalidOption(invalidValueMessage("filter", filter, "an object"));
  }
  for (const key of Object.keys(filter)) {
    const value = (filter as Record<string, unknown>)[key];
    if (FIELDS.has(key) && value === undefined) {
      // `{ route: process.env.ROUTE }` with the variable unset must not become "every letter":
      // for a purge or a redrive that is the most destructive reading of the caller's intent.
      throw new ErrInvalidOption(
        `filter.${key} is undefined; leave the key out to match ${EVERY[key] ?? "every letter"}`,
      );
    }
    if (!FIELDS.has(key)) {
      throw new ErrInvalidOption(
        invalidValueMessage(
          `filter.${key}`,
          (filter as Record<string, unknown>)[key],
          `absent (known fields: ${[...FIELDS].join(", ")})`,
        ),
      );
    }
  }
  const route = text(filter.route, "filter.route");
  const durable = text(filter.durable, "filter.durable");
  const subject = filter.subject;
  if (subject !== undefined) validateFilterSubject(subject, "filter.subject");
  const reason = reasonTest(filter.reason);
  const since = time(filter.since, "filter.since", now);
  const before = time(filter.before, "filter.before", now);
  if (since !== undefined && before !== undefined && since.getTime() >= before.getTime()) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "filter.before",
        filter.before,
        `later than filter.since (${since.toISOString()})`,
      ),
    );
  }
  const checks: Array<(l: DeadLetter) => boolean> = [];
  if (route !== undefined) checks.push((l) => l.route === route);
  if (durable !== undefined) checks.push((l) => l.durable === durable);
  if (subject !== undefined) {
    checks.push(
      (l) => l.originalSubject !== undefined && subjectMatches(subject, l.originalSubject),
    );
  }
  if (reason !== undefined) checks.push((l) => l.error !== undefined && reason(l.error));
  if (since !== undefined) checks.push((l) => l.storedAt.getTime() >= since.getTime());
  if (before !== undefined) checks.push((l) => l.storedAt.getTime() < before.getTime());
  return {
    matches: (l) => checks.every((check) => check(l)),
    since,
    empty: checks.length === 0,
  };
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new ErrInvalidOption(invalidValueMessage(field, value, "a non-empty string"));
  }
  return value;
}

function reasonTest(value: unknown): ((error: string) => boolean) | undefined {
  if (value === undefined) return undefined;
  if (value instanceof RegExp) {
    // A global or sticky RegExp keeps `lastIndex` between calls: test a copy without them.
    const re = new RegExp(value.source, value.flags.replace(/[gy]/g, ""));
    return (error) => re.test(error);
  }
  const needle = text(value, "filter.reason")?.toLowerCase() ?? "";
  return (error) => error.toLowerCase().includes(needle);
}

function time(value: unknown, field: string, now: Date): Date | undefined {
  if (value === undefined) return undefined;
  // Only times and durations: a sequence or "all" / "new" means nothing for an age filter.
  const ok = value instanceof Date || (typeof value === "string" && !/^\s*\d+\s*$/.test(value));
  const position = ok ? tryParse(value, field) : undefined;
  const at = position === undefined ? undefined : resolveTime(position, now);
  if (at === undefined)
    throw new ErrInvalidOption(invalidValueMessage(field, value, TIME_EXPECTED));
  return at;
}

// parseStartAt refuses future times (a consumer cannot start there); a filter may name one:
// `before` tomorrow matches every letter so far, `since` tomorrow none.
const FAR_FUTURE = new Date(8.64e15);

function tryParse(value: unknown, field: string): ReturnType<typeof parseStartAt> | undefined {
  try {
    return parseStartAt(value, field, undefined, FAR_FUTURE);
  } catch {
    return undefined;
  }
}
