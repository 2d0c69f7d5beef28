import { ErrInvalidBackoff, invalidValueMessage } from "../errors/index.js";
import { toTimerMillis } from "./duration.js";

/**
 * The two delays of a doubling backoff option (`withRetryBackoff`, `withRelayBackoff`) in ms.
 * @throws ErrInvalidDuration naming `<option> initial` / `<option> max`; ErrInvalidBackoff when
 *   max is below initial
 */
export function toBackoffMillis(
  initial: unknown,
  max: unknown,
  option: string,
): { initialMs: number; maxMs: number } {
  const initialMs = toTimerMillis(initial, `${option} initial`);
  const maxMs = toTimerMillis(max, `${option} max`);
  if (maxMs < initialMs) {
    throw new ErrInvalidBackoff(
      invalidValueMessage(`${option} max`, max, `at least the initial delay (${initialMs} ms)`),
    );
  }
  return { initialMs, maxMs };
}

/**
 * `initialMs` doubled `doublings` times, at most `maxMs`. The exponent stops at 30 (2^30 ms is
 * over 12 days): a row failing for ever must not reach Infinity, nor NaN with a 0 ms initial.
 */
export function doublingDelay(initialMs: number, maxMs: number, doublings: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(doublings, 30));
}
