export { findNatsServer, INSTALL_HINT } from "./binary.js";
export { startCluster, type TestCluster, type TestClusterOptions } from "./cluster.js";
export { liveServerPids, startServer, type TestServer, type TestServerOptions } from "./server.js";
export { startTcpProxy, type TcpProxy, type TcpProxyTarget } from "./tcp-proxy.js";
