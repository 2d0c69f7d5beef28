// Test backends: one interface, TestBackend, run in memory or on a real nats-server.
export { type MemoryBackend, type MemoryBackendOptions, memoryBackend } from "./memory.js";
export { type ServerBackend, type ServerBackendOptions, serverBackend } from "./server.js";
export type { SettledOptions, TestBackend, TestRouteStats } from "./types.js";
