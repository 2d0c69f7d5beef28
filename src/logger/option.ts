import type { Logger } from "./logger.js";

/**
 * An option that sets a logger. One `withLogger` serves every constructor that logs
 * (`connect`, `Broker`): each of their drafts has a `logger` slot, and each validates it once.
 */
export type LoggerOption = (draft: { logger?: unknown }) => void;

/**
 * Where a component logs. The connection logs as a `{component:"conn"}` child; the broker gives
 * each route a `{route}` child.
 * @default silentLogger()
 * @example connect(withServers(url), withLogger(log)); new Broker(withConnection(conn), withLogger(log));
 */
export function withLogger(logger: Logger): LoggerOption {
  return (draft) => {
    draft.logger = logger;
  };
}
