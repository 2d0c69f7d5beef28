import { ErrShutdownTimeout } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { HeldMessages } from "./held.js";

/**
 * The one state of a route's run. `starting` (provisioning) -> `consuming` (a pull session is
 * open) -> `recovering` (the consumer was lost or must be re-read; a new session follows) ->
 * `consuming` ... -> `draining` (stopped by the broker) or `failed` (stopped by an error); the
 * last two are final and both drain in-flight handlers.
 */
export type EngineState =
  | { readonly kind: "starting" }
  | { readonly kind: "consuming" }
  | { readonly kind: "recovering" }
  | { readonly kind: "draining" }
  | { readonly kind: "failed"; readonly error: unknown };

/** The engine's pull and shutdown timings. */
export const PULL = Object.freeze({
  /**
   * A pull request's `expires`, ms (capped by the durable's `max_expires`). A pull that is not
   * filled by then ends with a 408 and the next one is sent at once.
   */
  expiresMs: 30_000,
  /**
   * Silent beats after which the flow is probed (a PING, `health()`), and dropped and dialled
   * again if it does not answer; and every this many after.
   */
  reconnectAfterBeats: 3,
  /** Consecutive pull rejections (409 Exceeded ...) before the route fails with ErrPullRejected. */
  maxRejections: 3,
  /**
   * After the shutdown grace period has aborted their signals, how long handlers that ignore it
   * are still awaited before the engine gives up on them (their messages are redelivered after
   * ack wait). Without it one stuck handler would hang shutdown forever.
   */
  abandonAfterMs: 5_000,
});

/** What draining the running handlers needs from the engine. */
export interface DrainHooks {
  readonly log: Logger;
  /** The route's name, for the abort reason. */
  readonly route: string;
  readonly held: HeldMessages;
  /** The handlers' signal: aborted with ErrShutdownTimeout when the grace period ends. */
  readonly grace: AbortController;
  /** The shutdown grace period, ms. */
  readonly graceMs: number;
  /** Receives the function to call whenever a handler may have finished (or undefined). */
  onWake(wake: (() => void) | undefined): void;
}

/**
 * Waits for running handlers (and dead letters being stored): `graceMs`, then aborts their
 * signal with ErrShutdownTimeout and waits {@link PULL.abandonAfterMs} more, then abandons the
 * rest (logged; redelivered after ack wait). Resolves with how many were abandoned.
 */
export async function drainHandlers(h: DrainHooks): Promise<number> {
  const busy = () => h.held.running + h.held.settling > 0;
  if (await untilIdle(busy, h.onWake, h.graceMs)) return 0;
  const reason = `route "${h.route}": handlers still running after ${h.graceMs} ms`;
  h.grace.abort(new ErrShutdownTimeout(reason));
  if (await untilIdle(busy, h.onWake, PULL.abandonAfterMs)) return 0;
  const seqs = h.held.abandonWorking();
  const why = "handlers ignored the shutdown signal; abandoned (redelivered after ack wait)";
  h.log.error({ seqs }, why);
  return seqs.length;
}

async function untilIdle(
  busy: () => boolean,
  onWake: DrainHooks["onWake"],
  ms: number,
): Promise<boolean> {
  if (!busy()) return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      onWake(() => {
        if (!busy()) resolve(true);
      });
    });
  } finally {
    clearTimeout(timer);
    onWake(undefined);
  }
}
