import { ErrConnectionRequired, invalidValueMessage } from "../errors/index.js";
import type { Connection } from "./types.js";

/**
 * Checks that `value` is a Connection from `connect()` (a plain object or another client's
 * connection would fail later with a raw TypeError); throws ErrConnectionRequired naming
 * `option` (the parameter or option it came from) otherwise.
 */
export function requireConnection(value: unknown, option: string): Connection {
  const c = value as Partial<Connection> | null;
  const ok =
    typeof value === "object" &&
    c !== null &&
    typeof c.nats === "object" &&
    typeof c.jetstream === "object" &&
    typeof c.jetstreamManager === "function" &&
    typeof c.serverVersion === "function";
  if (ok) return value as Connection;
  throw new ErrConnectionRequired(
    invalidValueMessage(option, value, "a Connection from connect()"),
  );
}
