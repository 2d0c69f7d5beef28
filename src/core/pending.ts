import type { Msg } from "@nats-io/nats-core";

/** Past this many taken entries, and half the array, `take` drops the consumed prefix. */
const COMPACT_AT = 1024;

/**
 * The messages a core route accepted while every worker was busy, oldest first, with when each
 * arrived (epoch ms). Two arrays and a head index rather than an object per entry: a fan-out
 * route queues most of each socket read, so an entry must cost no allocation of its own.
 */
export class PendingQueue {
  #raws: (Msg | undefined)[] = [];
  #arrivals: number[] = [];
  #head = 0;
  /** When the message last returned by {@link take} arrived (epoch ms). */
  takenArrival = 0;

  get size(): number {
    return this.#raws.length - this.#head;
  }

  push(raw: Msg, arrivedAt: number): void {
    this.#raws.push(raw);
    this.#arrivals.push(arrivedAt);
  }

  /** The oldest message (its arrival in `takenArrival`), or undefined when none is left. */
  take(): Msg | undefined {
    const head = this.#head;
    if (head === this.#raws.length) return undefined;
    const raw = this.#raws[head];
    this.#raws[head] = undefined;
    this.takenArrival = this.#arrivals[head] ?? 0;
    this.#head = head + 1;
    if (this.#head === this.#raws.length) {
      this.clear();
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#raws.length) {
      this.#raws = this.#raws.slice(this.#head);
      this.#arrivals = this.#arrivals.slice(this.#head);
      this.#head = 0;
    }
    return raw;
  }

  /** Calls `visit` on each waiting message, oldest first, without taking it. */
  forEach(visit: (raw: Msg) => void): void {
    for (let i = this.#head; i < this.#raws.length; i++) {
      const raw = this.#raws[i];
      if (raw !== undefined) visit(raw);
    }
  }

  clear(): void {
    this.#raws.length = 0;
    this.#arrivals.length = 0;
    this.#head = 0;
  }
}
