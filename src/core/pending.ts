import type { Msg } from "@nats-io/nats-core";

/** Past this many taken entries, and half the array, `take` drops the consumed prefix. */
const COMPACT_AT = 1024;

/**
 * The messages a core route accepted while every worker was busy, oldest first, with when each
 * arrived (epoch ms). Two arrays and a head index rather than an object per entry: a fan-out
 * route queues most of each socket read, so an entry must cost no allocation of its own.
 */
export class PendingQueue {
  /** Entries live in [#head, #tail); the arrays keep their length so a burst reuses them. */
  readonly #raws: (Msg | undefined)[] = [];
  readonly #arrivals: number[] = [];
  #head = 0;
  #tail = 0;
  /** When the message last returned by {@link take} arrived (epoch ms). */
  takenArrival = 0;

  get size(): number {
    return this.#tail - this.#head;
  }

  push(raw: Msg, arrivedAt: number): void {
    const tail = this.#tail;
    this.#raws[tail] = raw;
    this.#arrivals[tail] = arrivedAt;
    this.#tail = tail + 1;
  }

  /** The oldest message (its arrival in `takenArrival`), or undefined when none is left. */
  take(): Msg | undefined {
    const head = this.#head;
    if (head === this.#tail) return undefined;
    const raw = this.#raws[head];
    this.#raws[head] = undefined;
    this.takenArrival = this.#arrivals[head] ?? 0;
    if (head + 1 === this.#tail) {
      this.#head = 0;
      this.#tail = 0;
    } else if (head >= COMPACT_AT && head * 2 >= this.#tail) {
      this.#raws.copyWithin(0, head + 1, this.#tail);
      this.#arrivals.copyWithin(0, head + 1, this.#tail);
      this.#tail -= head + 1;
      this.#raws.fill(undefined, this.#tail);
      this.#head = 0;
    } else {
      this.#head = head + 1;
    }
    return raw;
  }

  /** Calls `visit` on each waiting message, oldest first, without taking it. */
  forEach(visit: (raw: Msg) => void): void {
    for (let i = this.#head; i < this.#tail; i++) {
      const raw = this.#raws[i];
      if (raw !== undefined) visit(raw);
    }
  }

  /** Forgets every waiting message and gives back the arrays' room. */
  clear(): void {
    this.#raws.length = 0;
    this.#arrivals.length = 0;
    this.#head = 0;
    this.#tail = 0;
  }
}
