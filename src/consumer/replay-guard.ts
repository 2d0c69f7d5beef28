import { SeqRanges } from "./seq-ranges.js";

/** Sequences settled by this engine, and the consumer's ack floor below which all are settled. */
export class ReplayGuard {
  #floor = 0;
  #ranges = new SeqRanges();

  get floor(): number {
    return this.#floor;
  }

  has(seq: number): boolean {
    return seq <= this.#floor || this.#ranges.has(seq);
  }

  add(seq: number): void {
    if (seq > this.#floor) this.#ranges.add(seq);
  }

  raiseFloor(floor: number): void {
    if (floor <= this.#floor) return;
    this.#floor = floor;
    this.#ranges.dropThrough(floor);
  }

  reset(): void {
    this.#floor = 0;
    this.#ranges = new SeqRanges();
  }
}
