// Connecting to NATS: `connect(...options)` and the options it takes.
export { connect, parseVersion } from "./connect.js";
export {
  type ConnDraft,
  type ConnOption,
  type TlsFiles,
  withAsyncTraces,
  withConnectTimeout,
  withCredsFile,
  withMaxReconnectAttempts,
  withName,
  withNkeySeed,
  withReconnectWait,
  withServers,
  withTls,
  withToken,
  withUserPass,
} from "./options.js";
export type { Connection, ConnectionHealth } from "./types.js";
