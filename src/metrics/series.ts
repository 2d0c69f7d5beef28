/** A metric's label values, in the metric's label order. */
export type Labels = Readonly<Record<string, string>>;

/**
 * One metric's values by label set, as a scrape computes them: summed over brokers (counters,
 * in-flight), or combined with `min` / `max` where brokers report the same thing (a durable's
 * lag read by two brokers is one lag, not two).
 */
export class Series {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels, value: number): void {
    this.#combine(labels, value, (a, b) => a + b);
  }

  max(labels: Labels, value: number): void {
    this.#combine(labels, value, Math.max);
  }

  min(labels: Labels, value: number): void {
    this.#combine(labels, value, Math.min);
  }

  /** Adds every value of `other` into this one. */
  addAll(other: Series): void {
    for (const { labels, value } of other.values()) this.add(labels, value);
  }

  values(): IterableIterator<{ labels: Labels; value: number }> {
    return this.#values.values();
  }

  #combine(labels: Labels, value: number, fn: (a: number, b: number) => number): void {
    const key = Object.values(labels).join("\u0000");
    const had = this.#values.get(key);
    if (had === undefined) this.#values.set(key, { labels, value });
    else had.value = fn(had.value, value);
  }
}
