import { after } from "node:test";
import { startServer, type TestServer, type TestServerOptions } from "../../src/testing/index.js";

/** Starts a server for the current file and stops it (deleting its store) after the file. */
export async function useServer(options?: TestServerOptions): Promise<TestServer> {
  const server = await startServer(options);
  after(() => server.stop());
  return server;
}
