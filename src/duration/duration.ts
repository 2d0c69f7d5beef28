import { ErrInvalidDuration, invalidValueMessage } from "../errors/index.js";

/** Milliseconds as a number, or a string such as `"250ms"`, `"30s"`, `"1.5m"`, `"2h"`. */
export type Duration = number | `${number}${DurationUnit}`;
export type DurationUnit = "ms" | "s" | "m" | "h";

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/**
 * Parses a duration to whole milliseconds. Throws ErrInvalidDuration naming `option` (and the
 * route, when given) for negatives, NaN, infinities and unknown units.
 * @example toMillis("30s", "withAckWait") // 30000
 */
export function toMillis(value: unknown, option: string, route?: string): number {
  const expected =
    'a non-negative number of milliseconds or a string like "500ms", "30s", "1m", "1h"';
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  } else if (typeof value === "string") {
    const m = PATTERN.exec(value.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) {
      return Math.round(Number(m[1]) * UNIT_MS[m[2] as DurationUnit]);
    }
  }
  throw new ErrInvalidDuration(invalidValueMessage(option, value, expected, route));
}

/** The longest delay Node's timers honour; longer ones silently fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Like {@link toMillis}, for durations that end up in a timer (timeouts, waits, grace periods):
 * also rejects anything over {@link MAX_TIMER_MS} (about 24.8 days), which Node would otherwise
 * turn into 1 ms with only a warning.
 */
export function toTimerMillis(value: unknown, option: string, route?: string): number {
  const ms = toMillis(value, option, route);
  if (ms > MAX_TIMER_MS) {
    throw new ErrInvalidDuration(
      invalidValueMessage(option, value, `at most ${MAX_TIMER_MS} ms (about 24.8 days)`, route),
    );
  }
  return ms;
}

/** Milliseconds to the nanoseconds JetStream's API speaks. */
export function millisToNanos(ms: number): number {
  return ms * 1_000_000;
}

/** JetStream nanoseconds back to milliseconds. */
export function nanosToMillis(ns: number): number {
  return Math.round(ns / 1_000_000);
}
