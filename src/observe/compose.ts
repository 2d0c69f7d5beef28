import type { Logger } from "../logger/index.js";
import type { RouteSpec } from "../router/types.js";
import type {
  Instrument,
  MessageObservation,
  MessageOutcome,
  ObservedMessage,
  OutcomeDetail,
  RouteObserver,
} from "./types.js";

/**
 * The one observer a route run calls: undefined when no instrument observes the route (the
 * engines then skip every observer call), the observer itself when one does, else a fan-out
 * whose `within` nests them in order (the first one's context outermost).
 */
export function observerFor(
  instruments: readonly Instrument[],
  spec: RouteSpec,
  log: Logger,
): RouteObserver | undefined {
  const observers = instruments
    .map((i) => i.route(spec))
    .filter((o): o is RouteObserver => o !== undefined)
    .map((o) => new FailOpen(o, log));
  if (observers.length === 0) return undefined;
  if (observers.length === 1) return observers[0];
  return new FanOut(observers);
}

/** Runs the pipeline and nothing else: for a message nothing observes (or could not begin to). */
export const UNOBSERVED: MessageObservation = {
  within: (fn, a, b) => fn(a, b),
  handled() {},
  settled() {},
};

/**
 * An observer that can never hurt a message: an instrument that throws (a broken propagator,
 * tracer or exporter) costs the message its observation, logged once per route run, and the
 * message is handled and settled as if nothing observed it.
 */
class FailOpen implements RouteObserver {
  readonly #inner: RouteObserver;
  readonly #log: Logger;
  #reported = false;

  constructor(inner: RouteObserver, log: Logger) {
    this.#inner = inner;
    this.#log = log;
  }

  readonly failed = (err: unknown): void => {
    if (this.#reported) return;
    this.#reported = true;
    this.#log.warn({ err }, "metrics or tracing failed; messages are handled without it");
  };

  begin(message: ObservedMessage): MessageObservation {
    try {
      const obs = this.#inner.begin(message);
      // Nothing to guard (a tracer with no SDK registered): no wrapper per message.
      return obs === UNOBSERVED ? obs : new FailOpenObservation(obs, this.failed);
    } catch (err) {
      this.failed(err);
      return UNOBSERVED;
    }
  }
}

class FailOpenObservation implements MessageObservation {
  readonly #inner: MessageObservation;
  readonly #failed: (err: unknown) => void;

  constructor(inner: MessageObservation, failed: (err: unknown) => void) {
    this.#inner = inner;
    this.#failed = failed;
  }

  // Not guarded: an instrument's within only enters a context around fn (the API's
  // context.with), and what fn throws is the handler's to report.
  within<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B): R {
    return this.#inner.within(fn, a, b);
  }

  handled(): void {
    try {
      this.#inner.handled();
    } catch (err) {
      this.#failed(err);
    }
  }

  settled(outcome: MessageOutcome, detail?: OutcomeDetail): void {
    try {
      this.#inner.settled(outcome, detail);
    } catch (err) {
      this.#failed(err);
    }
  }
}

class FanOut implements RouteObserver {
  readonly #observers: readonly RouteObserver[];

  constructor(observers: readonly RouteObserver[]) {
    this.#observers = observers;
  }

  begin(message: ObservedMessage): MessageObservation {
    return new FanOutObservation(this.#observers.map((o) => o.begin(message)));
  }
}

class FanOutObservation implements MessageObservation {
  readonly #parts: readonly MessageObservation[];

  constructor(parts: readonly MessageObservation[]) {
    this.#parts = parts;
  }

  within<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B): R {
    return this.#nest(0, fn, a, b);
  }

  #nest<A, B, R>(i: number, fn: (a: A, b: B) => R, a: A, b: B): R {
    const part = this.#parts[i];
    if (part === undefined) return fn(a, b);
    return part.within((x: A, y: B) => this.#nest(i + 1, fn, x, y), a, b);
  }

  handled(): void {
    for (const p of this.#parts) p.handled();
  }

  settled(outcome: MessageOutcome, detail?: OutcomeDetail): void {
    for (const p of this.#parts) p.settled(outcome, detail);
  }
}
