import { type Duration, toMillis } from "../duration/index.js";
import { ErrInvalidBackoff, invalidValueMessage } from "../errors/index.js";
import type { BackoffStrategy } from "./types.js";

/**
 * Strategies built here carry their own parameter check. Builders never throw, so a bad
 * `exponential({...})` written inside `route(...)` surfaces at register (buildRouteSpec calls
 * {@link checkBackoff}) with the route's name, rather than while the module loads.
 */
const CHECK: unique symbol = Symbol("jetroute.backoff.check");

type Checked = BackoffStrategy & { readonly [CHECK]?: (route?: string) => void };

/** Options of {@link linear}. */
export interface LinearBackoff {
  /** Delay after the first failed delivery. */
  initial: Duration;
  /** Added per further failed delivery. */
  step: Duration;
  /** Upper bound. */
  max: Duration;
}

/** Options of {@link exponential}. */
export interface ExponentialBackoff {
  /** Delay after the first failed delivery. */
  initial: Duration;
  /** Upper bound, applied after jitter. */
  max: Duration;
  /** Growth per failed delivery, at least 1. @default 2 */
  factor?: number;
  /** Spread in [0, 1]: the delay is multiplied by a random factor in [1-jitter, 1+jitter]. @default 0 */
  jitter?: number;
}

/**
 * The same delay after every failed delivery.
 * @example withBackoff(fixed("5s"))
 */
export function fixed(delay: Duration): BackoffStrategy {
  return checked(
    (route) => ({ delayMs: ms(delay, "fixed delay", route) }),
    ({ delayMs }) =>
      () =>
        delayMs,
  );
}

/**
 * `initial + step * (deliveryCount - 1)`, capped at `max`.
 * @example withBackoff(linear({ initial: "1s", step: "2s", max: "30s" }))
 */
export function linear(options: LinearBackoff): BackoffStrategy {
  return checked(
    (route) => {
      const initial = ms(options?.initial, "linear initial", route);
      const step = ms(options?.step, "linear step", route);
      const max = ms(options?.max, "linear max", route);
      if (max < initial) throw bad("linear max", options.max, "at least initial", route);
      return { initial, step, max };
    },
    ({ initial, step, max }) =>
      (n) =>
        Math.min(max, initial + step * (n - 1)),
  );
}

/**
 * `initial * factor^(deliveryCount - 1)`, times a random factor in [1-jitter, 1+jitter], capped
 * at `max`. Jitter spreads retries of a failing batch so they do not hit a dependency together.
 * @example withBackoff(exponential({ initial: "1s", max: "1m", jitter: 0.2 }))
 */
export function exponential(options: ExponentialBackoff): BackoffStrategy {
  return checked(
    (route) => {
      const initial = ms(options?.initial, "exponential initial", route);
      const max = ms(options?.max, "exponential max", route);
      if (max < initial) throw bad("exponential max", options.max, "at least initial", route);
      const factor = options.factor ?? 2;
      if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
        throw bad("exponential factor", factor, "a finite number of at least 1", route);
      }
      const jitter = options.jitter ?? 0;
      if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
        throw bad("exponential jitter", jitter, "a number from 0 to 1", route);
      }
      return { initial, max, factor, jitter };
    },
    ({ initial, max, factor, jitter }) =>
      (n) => {
        // factor ** large n is Infinity (and 0 * Infinity is NaN): cap before jitter
        const base = initial === 0 ? 0 : Math.min(max, initial * factor ** (n - 1));
        const spread = jitter === 0 ? 1 : 1 - jitter + Math.random() * 2 * jitter;
        return Math.min(max, Math.round(base * spread));
      },
  );
}

/**
 * Your own delay function. A bad return value (negative, NaN, unknown unit) makes the strategy
 * throw ErrInvalidBackoff, which the engine handles like any other retry failure.
 * @example withBackoff(custom((n) => (n < 3 ? "1s" : "1m")))
 */
export function custom(fn: (deliveryCount: number) => Duration): BackoffStrategy {
  return checked(
    (route) => {
      if (typeof fn !== "function") throw bad("custom backoff", fn, "a function", route);
      return { fn };
    },
    ({ fn }) =>
      (n) => {
        const value = fn(n);
        try {
          return toMillis(value, "custom backoff result");
        } catch (cause) {
          throw new ErrInvalidBackoff(
            invalidValueMessage(`custom backoff result for delivery ${n}`, value, "a duration"),
            { cause },
          );
        }
      },
  );
}

/**
 * Throws ErrInvalidBackoff (naming `route`) when `strategy` is not a function or was built by
 * `fixed`/`linear`/`exponential`/`custom` with bad parameters. Called once by buildRouteSpec.
 */
export function checkBackoff(
  strategy: unknown,
  route?: string,
): asserts strategy is BackoffStrategy {
  if (typeof strategy !== "function") {
    throw bad("withBackoff", strategy, "a backoff strategy such as exponential({...})", route);
  }
  (strategy as Checked)[CHECK]?.(route);
}

/** Validates lazily (once) and builds the delay function from the validated parameters. */
function checked<P>(
  validate: (route?: string) => P,
  build: (params: P) => BackoffStrategy,
): BackoffStrategy {
  let delay: BackoffStrategy | undefined;
  const strategy = (deliveryCount: number): number => {
    if (!Number.isInteger(deliveryCount) || deliveryCount < 1) {
      throw bad("backoff deliveryCount", deliveryCount, "an integer of at least 1");
    }
    delay ??= build(validate());
    return delay(deliveryCount);
  };
  Object.defineProperty(strategy, CHECK, { value: (route?: string) => void validate(route) });
  return strategy;
}

function ms(value: unknown, option: string, route?: string): number {
  try {
    return toMillis(value, option, route);
  } catch (cause) {
    throw bad(option, value, "a non-negative duration", route, cause);
  }
}

function bad(
  option: string,
  value: unknown,
  expected: string,
  route?: string,
  cause?: unknown,
): Error {
  return new ErrInvalidBackoff(
    invalidValueMessage(option, value, expected, route),
    cause === undefined ? undefined : { cause },
  );
}
