/**
 * The durables this process's routes are consuming right now (`stream/durable` -> routes on
 * it), so operations that must not run under a live route (`resetDurable`) can refuse. One
 * registry per process: it is module state on purpose, since two brokers in one process share
 * the server's durables too.
 */
const running = new Map<string, number>();

const key = (stream: string, durable: string) => `${stream}\u0000${durable}`;

/** Marks a route running on the durable; call the returned function once when it stops. */
export function claimDurable(stream: string, durable: string): () => void {
  const k = key(stream, durable);
  running.set(k, (running.get(k) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (running.get(k) ?? 1) - 1;
    if (left > 0) running.set(k, left);
    else running.delete(k);
  };
}

/** True while a route of this process runs on the durable (from provisioning until it stopped). */
export function isDurableRunning(stream: string, durable: string): boolean {
  return running.has(key(stream, durable));
}
