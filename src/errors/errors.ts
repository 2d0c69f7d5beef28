import type { ErrorCode } from "./codes.js";

/**
 * Base of every error jetroute throws. `code` is stable and typed as a literal, so
 * `switch (err.code)` narrows; `cause` chains the underlying NATS error when there is one.
 */
export class JetrouteError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The constructor of a sentinel error class: `new ErrX(message, { cause })`. */
export type SentinelClass<C extends ErrorCode> = new (
  message: string,
  options?: ErrorOptions,
) => JetrouteError<C>;

/**
 * Defines one sentinel error class per code (Go's `var ErrX = errors.New(...)`, as a class so
 * each throw gets its own stack and cause). Checked with `instanceof ErrX` or `err.code`.
 */
export function defineSentinel<C extends ErrorCode>(code: C, name: string): SentinelClass<C> {
  const cls = class extends JetrouteError<C> {
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
  Object.defineProperty(cls, "name", { value: name });
  return cls;
}

/**
 * Like Go's `errors.Is`: true when `err`, anything on its `cause` chain, or any member of an
 * `AggregateError` is a JetrouteError (with `code`, when given).
 */
export function isJetrouteError<C extends ErrorCode>(
  err: unknown,
  code?: C,
): err is JetrouteError<C> {
  return findJetrouteError(err, code) !== undefined;
}

/** The first JetrouteError (with `code`, when given) on `err`, its cause chain or aggregate. */
export function findJetrouteError<C extends ErrorCode>(
  err: unknown,
  code?: C,
): JetrouteError<C> | undefined {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0) {
    const e = stack.pop();
    if (e === undefined || e === null || seen.has(e)) continue;
    seen.add(e);
    if (e instanceof JetrouteError && (code === undefined || e.code === code)) {
      return e as JetrouteError<C>;
    }
    if (e instanceof AggregateError) stack.push(...e.errors);
    if (e instanceof Error) stack.push(e.cause);
  }
  return undefined;
}

/** The message of an unknown thrown value, for logs and headers. */
export function causeText(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** Renders a bad value for an error message: strings quoted, functions named as such. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (typeof value === "number" || value === undefined) return String(value);
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "an invalid Date" : `Date ${value.toISOString()}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The message for a bad option value, in one shape everywhere:
 * `withConcurrency on route "charge" must be an integer from 1 to 10000, got 0`.
 */
export function invalidValueMessage(
  option: string,
  value: unknown,
  expected: string,
  route?: string,
): string {
  const where = route === undefined ? "" : ` on route "${route}"`;
  return `${option}${where} must be ${expected}, got ${describeValue(value)}`;
}
