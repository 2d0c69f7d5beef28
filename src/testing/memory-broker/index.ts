// The in-memory broker: the factory and its public types. `deadLetter` is for the server
// backend, which shows its dead letters the same way.
export { memoryBroker } from "./broker.js";
export { deadLetter } from "./dead-letters.js";
export type {
  MemoryBroker,
  MemoryBrokerOptions,
  MemoryDeadLetter,
  MemoryMessage,
  MemoryMessageState,
  MemoryPublishOptions,
  MemoryRouteStats,
} from "./types.js";
