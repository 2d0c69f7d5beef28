import type { ConsumerInfo } from "@nats-io/jetstream";
import type { Logger } from "../logger/index.js";
import { ConsumerMetadata } from "./facts.js";
import type { ReplayGuard } from "./replay-guard.js";

/**
 * The durable as the engine last saw it, to tell a deliberate rewind from an accident when the
 * ack floor goes back under a running route:
 * - the same consumer (same `created`) with a floor below the one last read was reset in
 *   place: the consumer reset API (2.14+), used by resetDurable. A rewind. (A durable found
 *   re-created while recovering is seen with its own floor, so its lower floor is not.)
 * - a consumer created again (another `created`) carrying a new `jetroute.reset` mark was
 *   re-created by resetDurable (2.9/2.10 path; the mark needs 2.10+). A rewind.
 * - any other re-created consumer (another instance, an operator, a tool starting it at the
 *   stream's first message) is not: the replay guard keeps the route from running what it
 *   already settled (`test/integration/engine-resilience.test.ts`).
 */
export class DurableIdentity {
  #created: string | undefined;
  #floor = 0;
  #reset: string | undefined;

  /**
   * Remembers the durable as read now (provisioning, a floor read, a probe) and says whether,
   * against what was seen before, it was rewound on purpose below `knownFloor` (the replay
   * guard's floor).
   */
  observe(info: ConsumerInfo, knownFloor: number): boolean {
    const rewound = this.#isRewind(info, knownFloor);
    this.#created = info.created;
    this.#floor = info.ack_floor.stream_seq;
    this.#reset = info.config.metadata?.[ConsumerMetadata.Reset];
    return rewound;
  }

  #isRewind(info: ConsumerInfo, knownFloor: number): boolean {
    const floor = info.ack_floor.stream_seq;
    if (floor >= knownFloor || this.#created === undefined) return false;
    if (info.created === this.#created) return floor < this.#floor;
    const mark = info.config.metadata?.[ConsumerMetadata.Reset];
    return mark !== undefined && mark !== this.#reset;
  }
}

/**
 * Forgets what the replay guard knew above `floor`, so the rewound durable's messages after it
 * run again.
 */
export function rewindGuard(guard: ReplayGuard, floor: number, log: Logger): void {
  log.warn(
    { ackFloor: floor, previousAckFloor: guard.floor },
    "the durable was rewound under the route (resetDurable); messages after its new ack floor run again",
  );
  guard.reset();
  guard.raiseFloor(floor);
}

/**
 * Reads the durable when a delivery arrives at or below the floor the route knows: nats-server
 * 2.9's step-back re-sends one acked message, a re-created durable re-sends what it starts at, a
 * rewind re-sends every message after the new floor. One consumer-info read is shared by every
 * delivery that arrives while it runs; undefined when it cannot be read (the delivery is then
 * acked, as before; a rewind is also seen by the next floor refresh).
 */
export class ConsumerProbe {
  readonly #read: () => Promise<ConsumerInfo>;
  #reading: Promise<ConsumerInfo | undefined> | undefined;

  constructor(read: () => Promise<ConsumerInfo>) {
    this.#read = read;
  }

  info(): Promise<ConsumerInfo | undefined> {
    this.#reading ??= this.#read()
      .catch(() => undefined)
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }
}
