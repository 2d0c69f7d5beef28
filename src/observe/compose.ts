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
): RouteObserver | undefined {
  const observers = instruments
    .map((i) => i.route(spec))
    .filter((o): o is RouteObserver => o !== undefined);
  if (observers.length === 0) return undefined;
  if (observers.length === 1) return observers[0];
  return new FanOut(observers);
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
