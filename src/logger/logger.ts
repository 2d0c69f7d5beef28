import { pino } from "pino";

/**
 * The logging surface jetroute needs: pino's `(obj, msg)` call shape and `child()`. Any pino
 * logger fits; so does a thin adapter over another library.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** @default "info" (or `LOG_LEVEL` from the environment) */
  level?: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /** Bound on every line, e.g. `{ service: "billing" }`. */
  base?: Record<string, unknown>;
}

/**
 * A pino logger writing JSON lines to stdout.
 * @example const log = createLogger({ level: "debug", base: { service: "billing" } });
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.LOG_LEVEL as LoggerOptions["level"]) ?? "info";
  return pino({ level, base: options.base ?? null });
}

/** A logger that drops everything; the default where none is given to a library component. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** One child per component, so every line says where it came from. */
export function componentLogger(
  parent: Logger,
  component: string,
  bindings: Record<string, unknown> = {},
): Logger {
  return parent.child({ component, ...bindings });
}
