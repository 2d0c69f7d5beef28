/**
 * Wakes idle relay workers. A wake that comes while a worker is busy is not lost: each worker
 * remembers the generation it last saw, and its next `wait` returns at once if it moved on.
 */
export class Waker {
  #generation = 0;
  readonly #waiting = new Set<() => void>();

  get generation(): number {
    return this.#generation;
  }

  wake(): void {
    this.#generation++;
    for (const resolve of this.#waiting) resolve();
    this.#waiting.clear();
  }

  /** Resolves on a wake after generation `seen`, after `ms`, or when `signal` aborts. */
  wait(seen: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.#generation !== seen || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.#waiting.add(done);
    });
  }
}
