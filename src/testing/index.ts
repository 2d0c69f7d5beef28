export { findNatsServer, INSTALL_HINT } from "./binary.js";
export { liveServerPids, startServer, type TestServer, type TestServerOptions } from "./server.js";
