import type { StandardSchemaV1 } from "@standard-schema/spec";

/**
 * One validation problem, in the plain form jetroute stores and sends: `message` from the schema
 * library, `path` the keys from the value's root to the offending field (absent for the root).
 * Standard Schema paths may hold symbols or `{ key }` segments; here every segment is a string
 * or a number, so the issue survives JSON (a header, a reply body).
 * @example { message: "Expected number, received string", path: ["items", 0, "price"] }
 */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: readonly (string | number)[];
}

/**
 * The header that carries validation issues: on a dead letter (a payload that failed its schema,
 * a malformed envelope) and on a request-reply route's 400 reply. Its value is a one-line JSON
 * array of {@link SchemaIssue}, ASCII only, at most {@link SCHEMA_ISSUES_HEADER_MAX_CHARS}
 * characters; issues that did not fit are counted in `Jetroute-Schema-Issues-Omitted`.
 */
export const SchemaIssuesHeader = {
  Issues: "Jetroute-Schema-Issues",
  /** Only when some issues were left out of `Jetroute-Schema-Issues`: how many. */
  Omitted: "Jetroute-Schema-Issues-Omitted",
} as const;

/** The longest `Jetroute-Schema-Issues` value, in characters. */
export const SCHEMA_ISSUES_HEADER_MAX_CHARS = 2048;

/** The longest issue message kept, in characters (longer ones end in "…"). */
const MAX_MESSAGE_CHARS = 256;
/** Path segments kept per issue; a deeper path keeps its first ones and ends in "…". */
const MAX_PATH_SEGMENTS = 16;
const MAX_SEGMENT_CHARS = 64;

/**
 * Standard Schema issues as {@link SchemaIssue}s: `{ key }` segments unwrapped, symbols as their
 * description, messages forced to strings. Never throws, whatever a schema library returned.
 */
export function toSchemaIssues(
  issues: ReadonlyArray<StandardSchemaV1.Issue> | undefined,
): SchemaIssue[] {
  if (issues === undefined || issues === null || typeof issues[Symbol.iterator] !== "function") {
    return [{ message: "validation failed (the schema gave no issues)" }];
  }
  const out: SchemaIssue[] = [];
  for (const issue of issues) {
    const message =
      typeof issue?.message === "string" && issue.message !== "" ? issue.message : "invalid value";
    const path = toPath(issue?.path);
    out.push(path === undefined ? { message } : { message, path });
  }
  if (out.length === 0) out.push({ message: "validation failed (the schema gave no issues)" });
  return out;
}

function toPath(
  path: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment> | undefined,
): (string | number)[] | undefined {
  if (!Array.isArray(path) || path.length === 0) return undefined;
  return path.map((segment: unknown) => {
    const key =
      typeof segment === "object" && segment !== null && "key" in segment
        ? (segment as StandardSchemaV1.PathSegment).key
        : segment;
    if (typeof key === "number") return key;
    if (typeof key === "symbol") return key.description ?? "symbol";
    return String(key);
  });
}

/** `items.0.price: Expected number`, for logs and reasons. */
export function describeIssue(issue: SchemaIssue): string {
  return issue.path === undefined || issue.path.length === 0
    ? issue.message
    : `${issue.path.join(".")}: ${issue.message}`;
}

/**
 * A one-line summary: the first issue, and how many more there are. At most about 300
 * characters, so it fits a reject reason (`Jetroute-Error`) and a `Nats-Service-Error` header.
 * @example summarizeIssues("payload failed its schema", issues) // "payload failed its schema: amount: Expected number (and 2 more issues)"
 */
export function summarizeIssues(what: string, issues: readonly SchemaIssue[]): string {
  const first = issues[0];
  if (first === undefined) return what;
  const text = clip(describeIssue(first).replace(/[\r\n]+/g, " "), 240);
  const more = issues.length - 1;
  const tail = more === 0 ? "" : ` (and ${more} more issue${more === 1 ? "" : "s"})`;
  return `${what}: ${text}${tail}`;
}

/**
 * The `Jetroute-Schema-Issues` value for `issues`: a JSON array, one line, ASCII only (other
 * characters as `\uXXXX` escapes, which JSON.parse restores), at most
 * {@link SCHEMA_ISSUES_HEADER_MAX_CHARS} characters. Long messages and deep paths are shortened;
 * issues that do not fit are left out and counted in `omitted`.
 */
export function encodeIssuesHeader(issues: readonly SchemaIssue[]): {
  readonly value: string;
  readonly omitted: number;
} {
  const parts: string[] = [];
  let length = 2; // the brackets
  for (const issue of issues) {
    const part = asciiJson(boundIssue(issue));
    const added = part.length + (parts.length === 0 ? 0 : 1);
    if (length + added > SCHEMA_ISSUES_HEADER_MAX_CHARS) break;
    parts.push(part);
    length += added;
  }
  return { value: `[${parts.join(",")}]`, omitted: issues.length - parts.length };
}

/**
 * Reads a `Jetroute-Schema-Issues` value back; undefined when it is not a JSON array of issues.
 */
export function decodeIssuesHeader(value: string): SchemaIssue[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  return parseIssueList(parsed);
}

/** `value` as a list of issues (e.g. a 400 reply's body), or undefined when it is not one. */
export function parseIssueList(value: unknown): SchemaIssue[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: SchemaIssue[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) return undefined;
    const { message, path } = item as { message?: unknown; path?: unknown };
    if (typeof message !== "string") return undefined;
    if (path === undefined) {
      out.push({ message });
      continue;
    }
    if (
      !Array.isArray(path) ||
      !path.every((s) => typeof s === "string" || typeof s === "number")
    ) {
      return undefined;
    }
    out.push({ message, path: path as (string | number)[] });
  }
  return out;
}

function boundIssue(issue: SchemaIssue): SchemaIssue {
  const message = clip(issue.message, MAX_MESSAGE_CHARS);
  if (issue.path === undefined) return { message };
  const path = issue.path
    .slice(0, MAX_PATH_SEGMENTS)
    .map((s) => (typeof s === "string" ? clip(s, MAX_SEGMENT_CHARS) : s));
  if (issue.path.length > MAX_PATH_SEGMENTS) path.push("…");
  return { message, path };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** JSON with every non-ASCII character escaped: header values stay 7-bit clean. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
