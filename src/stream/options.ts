import { type Duration, toMillis } from "../duration/index.js";
import { ErrInvalidOption, ErrInvalidStreamName, invalidValueMessage } from "../errors/index.js";
import { validateFilterSubject } from "../subject/index.js";

/** How long messages stay: until limits (`limits`), until acked once (`workqueue`), or while consumers are interested (`interest`). */
export type StreamRetention = "limits" | "workqueue" | "interest";
/** Where the stream keeps messages. */
export type StreamStorage = "file" | "memory";
/** What happens at a limit: drop the oldest message (`old`) or refuse the new one (`new`). */
export type StreamDiscard = "old" | "new";

/** What the `withX` stream options record. Values are checked once, by `ensureStream`. */
export interface StreamDraft {
  subjects?: unknown[];
  retention?: unknown;
  storage?: unknown;
  replicas?: unknown;
  maxAge?: unknown;
  maxBytes?: unknown;
  maxMsgs?: unknown;
  duplicateWindow?: unknown;
  discard?: unknown;
  maxMsgSize?: unknown;
  skipCoveredSubjects?: boolean;
}

/** A stream option, given to `ensureStream(conn, name, ...options)`. */
export type StreamOption = (draft: StreamDraft) => void;

/**
 * The validated settings. Fields left `undefined` were not asked for: on create the server's
 * default applies, on update the stream's current value is kept.
 */
export interface StreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly retention: StreamRetention | undefined;
  readonly storage: StreamStorage | undefined;
  readonly replicas: number | undefined;
  readonly maxAgeMs: number | undefined;
  readonly maxBytes: number | undefined;
  readonly maxMsgs: number | undefined;
  readonly duplicateWindowMs: number | undefined;
  readonly discard: StreamDiscard | undefined;
  readonly maxMsgSize: number | undefined;
  readonly skipCoveredSubjects: boolean;
}

/** Subjects the stream captures (wildcards allowed); added to the stream's existing ones, never replacing them. @default none */
export function withSubjects(...subjects: string[]): StreamOption {
  return (d) => {
    d.subjects = [...(d.subjects ?? []), ...subjects];
  };
}

/** How long messages are kept; the server refuses to change it later. @default "limits" (on create) */
export function withRetention(retention: StreamRetention): StreamOption {
  return (d) => {
    d.retention = retention;
  };
}

/** Where messages are kept; the server refuses to change it later. @default "file" (on create) */
export function withStorage(storage: StreamStorage): StreamOption {
  return (d) => {
    d.storage = storage;
  };
}

/** Copies kept in a cluster, 1 to 5. @default 1 (on create) */
export function withReplicas(n: number): StreamOption {
  return (d) => {
    d.replicas = n;
  };
}

/** Oldest message age kept; 0 means no limit. @default 0 (on create) */
export function withMaxAge(age: Duration): StreamOption {
  return (d) => {
    d.maxAge = age;
  };
}

/** Total bytes kept; -1 means no limit. @default -1 (on create) */
export function withMaxBytes(n: number): StreamOption {
  return (d) => {
    d.maxBytes = n;
  };
}

/** Messages kept; -1 means no limit. @default -1 (on create) */
export function withMaxMsgs(n: number): StreamOption {
  return (d) => {
    d.maxMsgs = n;
  };
}

/** How long a `Nats-Msg-Id` is remembered for de-duplication. @default "2m" (the server's) */
export function withDuplicateWindow(window: Duration): StreamOption {
  return (d) => {
    d.duplicateWindow = window;
  };
}

/** What a full stream does with a new message. @default "old" (on create) */
export function withDiscard(discard: StreamDiscard): StreamOption {
  return (d) => {
    d.discard = discard;
  };
}

/** Largest message accepted, in bytes; -1 means the server's max_payload. @default -1 (on create) */
export function withMaxMsgSize(n: number): StreamOption {
  return (d) => {
    d.maxMsgSize = n;
  };
}

/**
 * Requested subjects already captured by another stream are left out (with a warn log) instead
 * of failing with ErrSubjectOverlap. For services that share subjects with a stream owned
 * elsewhere. @default off
 */
export function withSkipCoveredSubjects(): StreamOption {
  return (d) => {
    d.skipCoveredSubjects = true;
  };
}

/** Applies the options, then validates the name and every value once. */
export function resolveStreamSpec(name: unknown, options: readonly StreamOption[]): StreamSpec {
  validateStreamName(name);
  const d: StreamDraft = {};
  for (const option of options) {
    if (typeof option !== "function") {
      throw new ErrInvalidOption(invalidValueMessage("stream option", option, "a StreamOption"));
    }
    option(d);
  }
  const subjects = d.subjects ?? [];
  for (const subject of subjects) validateFilterSubject(subject, "withSubjects");
  const spec: StreamSpec = {
    name,
    subjects: Object.freeze([...new Set(subjects as string[])]),
    retention: oneOf("withRetention", d.retention, ["limits", "workqueue", "interest"] as const),
    storage: oneOf("withStorage", d.storage, ["file", "memory"] as const),
    replicas: integer("withReplicas", d.replicas, 1, 5),
    maxAgeMs: d.maxAge === undefined ? undefined : toMillis(d.maxAge, "withMaxAge"),
    maxBytes: integer("withMaxBytes", d.maxBytes, -1),
    maxMsgs: integer("withMaxMsgs", d.maxMsgs, -1),
    duplicateWindowMs:
      d.duplicateWindow === undefined
        ? undefined
        : toMillis(d.duplicateWindow, "withDuplicateWindow"),
    discard: oneOf("withDiscard", d.discard, ["old", "new"] as const),
    maxMsgSize: integer("withMaxMsgSize", d.maxMsgSize, -1, 2 ** 31 - 1),
    skipCoveredSubjects: d.skipCoveredSubjects === true,
  };
  return Object.freeze(spec);
}

/**
 * Checks a stream name: non-empty, no whitespace or control characters, none of `.`, `*`, `>`
 * (they would break the `$JS.API.STREAM.*.<name>` subjects) and no path separators (the name
 * becomes a directory in the store). Throws ErrInvalidStreamName.
 * @example validateStreamName("ORDERS") // ok
 */
export function validateStreamName(name: unknown): asserts name is string {
  const expected = "a non-empty name without whitespace, '.', '*', '>', '/' or '\\'";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (typeof name !== "string" || name.length === 0 || /[\s.*>/\\\x00-\x1f\x7f]/.test(name)) {
    throw new ErrInvalidStreamName(invalidValueMessage("stream name", name, expected));
  }
}

function oneOf<T extends string>(
  option: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  const expected = `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`;
  throw new ErrInvalidOption(invalidValueMessage(option, value, expected));
}

function integer(
  option: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) {
    return value;
  }
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  throw new ErrInvalidOption(invalidValueMessage(option, value, `an integer ${range}`));
}
