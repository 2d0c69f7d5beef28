import { startServer, type TestServer } from "../../src/testing/index.js";

/**
 * The NATS URL an example talks to: `NATS_URL` when set, else an embedded nats-server started
 * here (JetStream on, temp store) and stopped when the example ends.
 */
export async function natsForExample(): Promise<{ url: string; stop: () => Promise<void> }> {
  const fromEnv = process.env.NATS_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };
  const server: TestServer = await startServer();
  console.error(`[example] NATS_URL not set: started an embedded nats-server at ${server.url}`);
  return { url: server.url, stop: () => server.stop() };
}

/**
 * An AbortSignal that aborts on Ctrl-C / SIGTERM, or after `ms` when given (so `npm run demo`
 * ends by itself). The listeners are removed once it fires.
 */
export function shutdownSignal(ms?: number): AbortSignal {
  const controller = new AbortController();
  const stop = (why: string) => {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    clearTimeout(timer);
    if (!controller.signal.aborted) {
      console.error(`[example] ${why}: shutting down (draining in-flight work) ...`);
      controller.abort(new Error(why));
    }
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  process.once("SIGINT", onInt);
  process.once("SIGTERM", onTerm);
  const timer =
    ms === undefined ? undefined : setTimeout(() => stop(`demo time (${ms} ms) is up`), ms);
  // A deadline, not work: a demo that finished early must still exit at once.
  timer?.unref();
  return controller.signal;
}
