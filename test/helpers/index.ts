export { checkLeaksAfterAll, leakedResources } from "./leaks.js";
export { type LogLine, recordingLogger } from "./memory-logger.js";
export { useServer } from "./server.js";
export { gate, until } from "./wait.js";
