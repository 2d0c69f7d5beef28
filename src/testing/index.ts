export {
  type MemoryBackend,
  type MemoryBackendOptions,
  memoryBackend,
  type ServerBackend,
  type ServerBackendOptions,
  type SettledOptions,
  serverBackend,
  type TestBackend,
  type TestRouteStats,
} from "./backend/index.js";
export { findNatsServer, INSTALL_HINT } from "./binary.js";
export { manualClock, type TestClock } from "./clock.js";
export { startCluster, type TestCluster, type TestClusterOptions } from "./cluster.js";
export {
  type MemoryBroker,
  type MemoryBrokerOptions,
  type MemoryDeadLetter,
  type MemoryMessage,
  type MemoryMessageState,
  type MemoryPublishOptions,
  type MemoryRouteStats,
  memoryBroker,
} from "./memory-broker/index.js";
export type { TestMessage } from "./message.js";
export {
  findPostgresBin,
  livePostgresPids,
  POSTGRES_INSTALL_HINT,
  startPostgres,
  type TestPostgres,
  type TestPostgresOptions,
} from "./postgres/index.js";
export {
  type PublishedMessage,
  type RecordingProducer,
  type RecordingProducerOptions,
  type RequestResponder,
  recordingProducer,
} from "./producer.js";
export {
  type CoreRunResult,
  type JetStreamRunResult,
  type RequestRunResult,
  type RunHandlerOptions,
  type RunHandlerResult,
  runHandler,
  type Settlement,
  type TestReply,
} from "./run-handler.js";
export { liveServerPids, startServer, type TestServer, type TestServerOptions } from "./server.js";
export { startTcpProxy, type TcpProxy, type TcpProxyTarget } from "./tcp-proxy.js";
