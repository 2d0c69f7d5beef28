import type { Logger } from "../logger/index.js";
import type { ReplayGuard } from "./replay-guard.js";

/**
 * A durable whose ack floor went back under the running route (resetDurable or the consumer
 * reset API, 2.14+; a durable deleted and created again at an earlier start by someone else)
 * must run its messages after the new floor again, although the replay guard counts them as
 * settled. Forgets what the guard knew above `floor`; true when it was a rewind.
 */
export function rewindGuard(guard: ReplayGuard, floor: number, log: Logger): boolean {
  if (floor >= guard.floor) return false;
  log.warn(
    { ackFloor: floor, previousAckFloor: guard.floor },
    "the durable's ack floor went back under the route (rewound); messages after it run again",
  );
  guard.reset();
  guard.raiseFloor(floor);
  return true;
}

/**
 * Reads the durable's ack floor when a delivery arrives at or below the floor the route knows:
 * nats-server 2.9's step-back re-sends one acked message (ack it), a rewind re-sends every
 * message after the new floor (run them). One consumer-info read is shared by every delivery
 * that arrives while it runs; undefined when it cannot be read (the delivery is then acked, as
 * before: a rewind is also seen by the next floor refresh).
 */
export class FloorProbe {
  readonly #read: () => Promise<number>;
  #reading: Promise<number | undefined> | undefined;

  constructor(read: () => Promise<number>) {
    this.#read = read;
  }

  floor(): Promise<number | undefined> {
    this.#reading ??= this.#read()
      .catch(() => undefined)
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }
}
