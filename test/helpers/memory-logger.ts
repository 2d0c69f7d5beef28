import type { Logger } from "../../src/logger/index.js";

/** One captured log call, with the bindings of the child logger it went through. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string | undefined;
  obj: Record<string, unknown>;
}

/**
 * A Logger that appends every call (children included, with their bindings) to `lines`, so
 * tests can assert on what was logged.
 * @example const log = recordingLogger(); const conn = await connect(withLogger(log)); log.lines
 */
export function recordingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { readonly lines: LogLine[] } {
  const at =
    (level: LogLine["level"]) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, msg, obj: { ...bindings, ...obj } });
    };
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}
