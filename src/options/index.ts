// Checks shared by the functions that take an options object (dead-letter operations, replay):
// a misspelt key must fail loudly, never fall back to a default that does more than was asked.
import { describeValue, ErrInvalidOption } from "../errors/index.js";

/**
 * Throws ErrInvalidOption when `options` is not a plain object (`undefined` is fine: every
 * default) or has an own key outside `allowed`, naming the key, the closest allowed one and the
 * full list. `where` is the function the options belong to, as callers know it.
 * @example checkKeys(options, ["filter", "signal", "to"], "redriveDeadLetters")
 * // { filters: {...} } -> ERR_INVALID_OPTION: redriveDeadLetters has no option "filters" (did you mean "filter"?); ...
 */
export function checkKeys(options: unknown, allowed: readonly string[], where: string): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ErrInvalidOption(
      `${where} options must be an object such as { ${allowed[0] ?? ""}: ... }, got ${describeValue(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const near = closest(key, allowed);
    const hint = near === undefined ? "" : ` (did you mean "${near}"?)`;
    throw new ErrInvalidOption(
      `${where} has no option ${JSON.stringify(key)}${hint}; its options are ${allowed.join(", ")}. Fix the spelling or leave the key out: an unknown option is never ignored`,
    );
  }
}

/** The allowed key nearest to `key` (same letters ignoring case, or at most 2 edits away). */
function closest(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance; option names are short, so the plain table is fine. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Which constructor an options draft belongs to (routes, streams and connections have none). */
export type OptionPlace = "broker" | "producer";

const PLACE_CALL: Record<OptionPlace, string> = {
  broker: "new Broker(...)",
  producer: "createProducer(conn, ...)",
};

/**
 * Throws ErrInvalidOption unless `draft` is one of `places`' drafts: an option given to the
 * wrong constructor (withService to a route, say) fails with a message naming where it goes,
 * instead of a TypeError from a draft field that is not there, or being silently ignored.
 */
export function requirePlace(draft: unknown, option: string, ...places: OptionPlace[]): void {
  const place = (draft as { place?: unknown } | undefined)?.place;
  if (places.includes(place as OptionPlace)) return;
  const where = places.map((p) => PLACE_CALL[p]).join(" or ");
  throw new ErrInvalidOption(`${option} is an option of ${where}; pass it there`);
}
