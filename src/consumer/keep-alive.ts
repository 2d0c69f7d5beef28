import type { Inbound } from "./inbound.js";

/**
 * One timer per route, not one per message: every quarter of the ack wait, each held message
 * (buffered, running, or storing its dead letter) received at least a quarter ago gets an
 * in-progress ack (`+WPI`). Timed from receipt, not from when its handler starts, because the
 * server's ack-wait clock runs from delivery: a message waiting for a worker behind long
 * handlers must not expire in the buffer. Each message is covered half an ack wait after it
 * arrives and every quarter after that. Returns the function that stops the timer.
 */
export function startKeepAlive(ackWaitMs: number, held: () => Iterable<Inbound>): () => void {
  const tick = Math.max(1, Math.floor(ackWaitMs / 4));
  const timer = setInterval(() => {
    const due = Date.now() - tick;
    for (const m of held()) {
      if (m.receivedAt <= due) m.working();
    }
  }, tick);
  return () => clearInterval(timer);
}
