import { subjectsOverlap } from "../subject/index.js";

export { subjectsOverlap };

/** Another stream that already captures some of the requested subjects. */
export interface StreamOverlap {
  /** The other stream's name. */
  readonly stream: string;
  /** The requested subjects (as given) that overlap that stream's subjects. */
  readonly subjects: readonly string[];
}

/** The subjects of a stream as `jsm.streams.list()` reports them. */
export interface StreamSubjects {
  readonly name: string;
  readonly subjects: readonly string[];
}

/**
 * Which requested subjects collide with which other stream. The stream being ensured (`self`)
 * is ignored: it may of course keep its own subjects. Streams are reported in the order given.
 * @example
 * findOverlaps("ORDERS", ["orders.>"], [{ name: "ALL", subjects: [">"] }])
 * // [{ stream: "ALL", subjects: ["orders.>"] }]
 */
export function findOverlaps(
  self: string,
  requested: readonly string[],
  streams: Iterable<StreamSubjects>,
): StreamOverlap[] {
  const found: StreamOverlap[] = [];
  for (const other of streams) {
    if (other.name === self) continue;
    const subjects = requested.filter((r) => other.subjects.some((o) => subjectsOverlap(r, o)));
    if (subjects.length > 0) found.push({ stream: other.name, subjects });
  }
  return found;
}
