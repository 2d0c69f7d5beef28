// Logging: the pino-shaped Logger interface, factories, and the shared withLogger option.
export {
  componentLogger,
  createLogger,
  type Logger,
  type LoggerOptions,
  silentLogger,
} from "./logger.js";
export { type LoggerOption, withLogger } from "./option.js";
