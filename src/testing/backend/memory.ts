// The in-memory test backend: a memory broker behind the TestBackend interface.
import type { Duration } from "../../duration/index.js";
import type { Logger } from "../../logger/index.js";
import type { Middleware } from "../../router/types.js";
import { manualClock, type TestClock } from "../clock.js";
import { type MemoryBroker, memoryBroker } from "../memory-broker/index.js";
import { pickStats, type TestBackend } from "./types.js";

/** Options of {@link memoryBackend}. */
export interface MemoryBackendOptions {
  /** @default manualClock() */
  readonly clock?: TestClock;
  /** Broker middleware. @default none */
  readonly middleware?: readonly Middleware[];
  /** @default "30s" */
  readonly shutdownTimeout?: Duration;
  /** @default silent */
  readonly logger?: Logger;
}

/** A {@link TestBackend} on a {@link MemoryBroker} (`broker`, for memory-only checks). */
export interface MemoryBackend extends TestBackend {
  readonly kind: "memory";
  readonly broker: MemoryBroker;
}

/**
 * The in-memory {@link TestBackend}.
 * @example const backend = memoryBackend();
 */
export function memoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const clock = options.clock ?? manualClock();
  const broker = memoryBroker({ ...options, clock });
  const backend: MemoryBackend = {
    kind: "memory",
    broker,
    register(...routes) {
      broker.register(...routes);
      return backend;
    },
    start: async () => broker.start(),
    publish: (subject, data, o) => broker.publish(subject, data, o),
    now: () => clock.now(),
    advance: (by) => clock.advance(by),
    settled: () => broker.settled(),
    stats(route) {
      const s = broker.stats(route);
      return pickStats(s);
    },
    unsettled: async (route) => broker.pending(route).length,
    deadLetters: async () => broker.deadLetters(),
    stop: () => broker.stop(),
    dispose: () => broker.stop(),
  };
  return backend;
}
