// Connecting to NATS: `connect(...options)` and the options it takes.
export {
  connect,
  HEALTH_PROBE_TIMEOUT_MS,
  parseVersion,
  type ServerVersion,
  versionAtLeast,
} from "./connect.js";
export {
  type ConnDraft,
  type ConnOption,
  DEFAULT_MAX_PINGS_OUT,
  DEFAULT_PING_INTERVAL_MS,
  type TlsFiles,
  withAsyncTraces,
  withConnectTimeout,
  withCredsFile,
  withMaxPingsOut,
  withMaxReconnectAttempts,
  withName,
  withNkeySeed,
  withPingInterval,
  withReconnectWait,
  withServers,
  withTls,
  withToken,
  withUserPass,
} from "./options.js";
export type { Connection, ConnectionHealth } from "./types.js";
