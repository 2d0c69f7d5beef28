import { setImmediate as nextTurn } from "node:timers/promises";
import { type Duration, toMillis } from "../duration/index.js";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";

/**
 * The time an in-memory broker runs on: nak delays and ack wait pass only when the test moves
 * it. Handler timeouts and the shutdown grace are real timers (they bound real work).
 */
export interface TestClock {
  /** Now, in ms since the epoch. */
  now(): number;
  /**
   * Moves time forward by `by` (ms or a duration string such as "5s") and resolves once every
   * broker on this clock has delivered what fell due (it does not wait for their handlers:
   * `await broker.idle()` does). Throws ErrInvalidDuration for a negative or malformed duration.
   */
  advance(by: Duration): Promise<void>;
  /** Calls `listener` after each advance; returns the function that removes it. */
  onAdvance(listener: () => void): () => void;
}

/**
 * A clock that stands still until `advance` is called.
 * @default start: Date.now()
 * @example
 * const clock = manualClock();
 * const broker = memoryBroker({ clock });
 * await clock.advance("5s"); // a message nak'd for 5 s is delivered again
 */
export function manualClock(start: Date | number = Date.now()): TestClock {
  let now = start instanceof Date ? start.getTime() : start;
  if (!Number.isFinite(now)) {
    throw new ErrInvalidOption(invalidValueMessage("clock start", start, "a Date or epoch ms"));
  }
  const listeners = new Set<() => void>();
  return Object.freeze({
    now: () => now,
    async advance(by: Duration): Promise<void> {
      const ms = toMillis(by, "clock.advance");
      now += ms;
      for (const l of [...listeners]) l();
      // Brokers deliver on a microtask; one turn of the loop lets every one of them run.
      await nextTurn();
    },
    onAdvance(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
}
