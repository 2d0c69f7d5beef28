import { subjectCovers, subjectsOverlap } from "../subject/index.js";

export { subjectCovers, subjectsOverlap };

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

/** A requested subject with the subject that covers it. */
export interface CoveredSubject {
  /** The requested subject. */
  readonly subject: string;
  /** The stream's own subject (or another requested one) that already captures all of it. */
  readonly by: string;
}

/** A requested subject that shares some subjects with another, neither covering the other. */
export interface SubjectConflict {
  /** The requested subject. */
  readonly subject: string;
  /** The stream's own subject (or another requested one) it partly overlaps. */
  readonly with: string;
}

/** How the requested subjects fit into a stream's own: what `ensureStream` sends, if anything. */
export interface SubjectPlan {
  /** Requested subjects already captured: nothing to do for them. */
  readonly covered: readonly CoveredSubject[];
  /** Requested subjects to add, in the order asked. */
  readonly added: readonly string[];
  /** The stream's subjects that an added, wider one covers: dropped from the list, still captured. */
  readonly widened: readonly string[];
  /** Partial overlaps: the server refuses a stream whose subjects overlap each other. */
  readonly conflicts: readonly SubjectConflict[];
  /** The stream's subjects afterwards: its own (less `widened`) then `added`. */
  readonly subjects: readonly string[];
}

/**
 * Fits `requested` into a stream's `own` subjects so that the stream captures what it captured
 * before plus every requested subject, with no two of its subjects overlapping (nats-server
 * refuses that: "subject ... overlaps with ..."). A requested subject covered by one the stream
 * has, or by another requested one, is left out; one that covers some of the stream's subjects
 * replaces them; one that only partly overlaps a subject is a conflict.
 * @example
 * planSubjects(["s.*", "t.x"], ["s.a", "s.>", "u.*"])
 * // covered [{ subject: "s.a", by: "s.*" }], added ["s.>", "u.*"], widened ["s.*"],
 * // conflicts [], subjects ["t.x", "s.>", "u.*"]
 */
export function planSubjects(own: readonly string[], requested: readonly string[]): SubjectPlan {
  const asked = [...new Set(requested)];
  const covered: CoveredSubject[] = [];
  const added: string[] = [];
  for (const subject of asked) {
    // Two distinct subjects never cover each other, so one of a pair always stays.
    const by =
      own.find((o) => subjectCovers(o, subject)) ??
      asked.find((r) => r !== subject && subjectCovers(r, subject));
    if (by === undefined) added.push(subject);
    else covered.push({ subject, by });
  }
  const widened = own.filter((o) => added.some((a) => subjectCovers(a, o)));
  const kept = own.filter((o) => !widened.includes(o));
  const conflicts: SubjectConflict[] = [];
  for (const [i, subject] of added.entries()) {
    // Subjects left after covering overlap only partly; each pair of added ones is named once.
    const other =
      kept.find((o) => subjectsOverlap(o, subject)) ??
      added.slice(i + 1).find((a) => subjectsOverlap(a, subject));
    if (other !== undefined) conflicts.push({ subject, with: other });
  }
  return { covered, added, widened, conflicts, subjects: [...kept, ...added] };
}
