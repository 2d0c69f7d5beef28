import { startPostgres, type TestPostgres } from "../../src/testing/index.js";

/**
 * The PostgreSQL an example talks to: `DATABASE_URL` when set, else an embedded PostgreSQL
 * started here (`startPostgres()`: initdb on a temp dir, a free loopback port) and stopped,
 * its dir deleted, when the example ends. Needs Debian's `postgresql` package for the embedded
 * one (`npm run setup` as root installs it).
 */
export async function postgresForExample(): Promise<{ url: string; stop: () => Promise<void> }> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };
  const server: TestPostgres = await startPostgres();
  console.error(
    `[example] DATABASE_URL not set: started an embedded PostgreSQL at ${server.url} (data dir ${server.dataDir})`,
  );
  return { url: server.url, stop: () => server.stop() };
}
