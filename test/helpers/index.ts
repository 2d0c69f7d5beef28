export { checkLeaksAfterAll, leakedResources } from "./leaks.js";
export { useServer } from "./server.js";
