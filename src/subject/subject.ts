import { ErrInvalidSubject } from "../errors/index.js";

const DOT = 46; // "."
const STAR = 42; // "*"
const GT = 62; // ">"

// The last subject that passed publish validation. Producers usually publish to a handful of
// subjects over and over, so this one-entry memo skips the scan on the hot path.
let lastValidPublish: string | undefined;

/**
 * Checks a subject that messages are published to: a non-empty string of `.`-separated,
 * non-empty tokens without whitespace or control characters, and without wildcards (`*` or `>`
 * as a whole token; inside a token they are ordinary characters, as in nats-server).
 * Throws ErrInvalidSubject whose message names `option`.
 * @example validatePublishSubject("orders.created") // ok
 * validatePublishSubject("orders.*") // throws ErrInvalidSubject
 */
export function validatePublishSubject(
  subject: unknown,
  option = "subject",
): asserts subject is string {
  if (subject === lastValidPublish) return;
  const reason = checkSubject(subject, option, false);
  if (reason !== undefined) throw new ErrInvalidSubject(subject, reason);
  lastValidPublish = subject as string;
}

/**
 * Checks a subject filter (a stream's subjects, a consumer's filter, a subscription): like
 * {@link validatePublishSubject}, but `*` may stand for any one token and `>` for one or more
 * trailing tokens (last token only). Throws ErrInvalidSubject whose message names `option`.
 * @example validateFilterSubject("orders.*.created", "withSubject") // ok
 * validateFilterSubject("orders.>.created", "withSubject") // throws ErrInvalidSubject
 */
export function validateFilterSubject(
  subject: unknown,
  option = "subject",
): asserts subject is string {
  const reason = checkSubject(subject, option, true);
  if (reason !== undefined) throw new ErrInvalidSubject(subject, reason);
}

/** The reason `subject` is invalid, or undefined when it is fine. One pass, no allocation. */
function checkSubject(subject: unknown, option: string, wildcards: boolean): string | undefined {
  if (typeof subject !== "string") return `${option} must be a string`;
  const n = subject.length;
  if (n === 0) return `${option} must not be empty`;
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? DOT : subject.charCodeAt(i);
    if (c === DOT) {
      const len = i - tokenStart;
      if (len === 0) return `${option} must not contain empty tokens`;
      if (len === 1) {
        const t = subject.charCodeAt(tokenStart);
        if (t === STAR || t === GT) {
          if (!wildcards) return `${option} must not contain wildcards`;
          if (t === GT && i !== n) return `${option} may use ">" only as the last token`;
        }
      }
      tokenStart = i + 1;
    } else if (c <= 32 || c === 127) {
      return `${option} must not contain whitespace or control characters`;
    }
  }
  return undefined;
}

/**
 * True when the literal `subject` is matched by `pattern` (NATS wildcard semantics: `*` one
 * token, `>` one or more trailing tokens).
 * @example subjectMatches("orders.*", "orders.created") // true
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === ">") return s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return p.length === s.length;
}

/**
 * True when some literal subject matches both `a` and `b` (either may hold wildcards): two
 * streams with overlapping subjects are refused by the server (10065).
 * @example subjectsOverlap("orders.*", "orders.>") // true
 * subjectsOverlap("orders.*", "orders.eu.created") // false
 */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const s = x[i];
    const t = y[i];
    // Both sides have a token at i, which is all ">" needs.
    if (s === ">" || t === ">") return true;
    if (s !== "*" && t !== "*" && s !== t) return false;
  }
  return x.length === y.length;
}

/**
 * True when `pattern` covers `subject`: every literal subject `subject` matches, `pattern`
 * matches too (either may hold wildcards). `*` covers any one token, `*` included but not `>`;
 * `>` covers one or more trailing tokens, wildcards included. nats-server's
 * `subjectIsSubsetMatch(subject, pattern)` (`server/sublist.go`), used to tell whether a stream
 * already captures a subject.
 * @example subjectCovers("orders.>", "orders.*") // true
 * subjectCovers("orders.*", "orders.>") // false
 * subjectCovers("orders.*", "orders.eu.created") // false
 */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    // `>` needs one token or more at i, whatever they are.
    if (t === ">") return s.length > i;
    const u = s[i];
    // `>` in the subject may stand for several tokens: only a `>` in the pattern covers it.
    if (u === undefined || u === ">") return false;
    if (t !== "*" && (u === "*" || t !== u)) return false;
  }
  return p.length === s.length;
}
