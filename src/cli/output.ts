// What a command prints: a table (or lines) for people, JSON for scripts. Results go to stdout;
// messages, progress and prompts to stderr, so `--json | jq` always gets clean JSON.
import Table from "cli-table3";

/** Where the CLI writes; the process's streams, or fakes in tests. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Prints `value` as JSON on stdout (Dates as ISO strings, bigints as numbers' strings). */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`,
  );
}

// C0 controls, DEL and C1 controls (ESC, CSI, OSC...): in a dead letter they are data, and a
// terminal would run them (colour, move the cursor, retitle the window, hide text).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is matched
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, less \t and \n
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\t": "\\t", "\r": "\\r" };

/**
 * `text` safe to print on a terminal: each control character as an escape (`\x1b`, `\n`).
 * `keepLines` keeps newlines and tabs (a payload shown as text). JSON output never uses this:
 * it stays exact (JSON escapes controls itself).
 */
export function escapeControls(text: string, keepLines = false): string {
  return text.replace(
    keepLines ? CONTROL_BUT_LINES : CONTROL,
    (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

function cellText(c: Cell): string | number {
  if (c === undefined || c === null) return "-";
  return typeof c === "string" ? escapeControls(c) : c;
}

const BORDER_CHARS = [
  "top",
  "top-mid",
  "top-left",
  "top-right",
  "bottom",
  "bottom-mid",
  "bottom-left",
  "bottom-right",
  "left",
  "left-mid",
  "mid",
  "mid-mid",
  "right",
  "right-mid",
  "middle",
] as const;

export type Cell = string | number | undefined | null;

/** Prints a table with a header row; empty cells as `-`. */
export function printTable(io: Io, head: readonly string[], rows: readonly Cell[][]): void {
  const table = new Table({
    head: head.map((h) => h.toUpperCase()),
    // no colours: output is often piped, and the default red header hides in some terminals
    // borderless, one line per item (like kubectl): reads, greps and cuts well
    chars: Object.fromEntries(BORDER_CHARS.map((c) => [c, ""])),
    style: { head: [], border: [], "padding-left": 0, "padding-right": 2 },
  });
  for (const row of rows) table.push(row.map(cellText));
  // the header in upper case marks it without colour; trailing padding trimmed
  const lines = table
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  io.stdout.write(`${lines.join("\n")}\n`);
}

/** `key: value` lines, aligned, for one record (a summary, a dead letter). */
export function printFields(io: Io, fields: ReadonlyArray<readonly [string, Cell]>): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [key, value] of fields) {
    io.stdout.write(`${`${key}:`.padEnd(width + 2)}${cellText(value)}\n`);
  }
}

/** A message for the reader on stderr (never mixed into --json output). */
export function note(io: Io, text: string): void {
  io.stderr.write(`${text}\n`);
}

/** `1536` -> `1.5 KiB`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A time as "how long ago", for tables: `3s ago`, `2h ago`, `never`. */
export function formatAgo(time: Date | string | undefined, now = new Date()): string {
  if (time === undefined) return "never";
  const t = typeof time === "string" ? new Date(time) : time;
  const ms = now.getTime() - t.getTime();
  if (!Number.isFinite(ms) || t.getTime() <= 0) return "never";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}
