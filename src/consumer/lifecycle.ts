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
  /** True while a handler runs or a dead letter is being stored. */
  busy(): boolean;
  /** Receives the function to call whenever `busy()` may have changed (or undefined). */
  onWake(wake: (() => void) | undefined): void;
  /** The shutdown grace period, ms. */
  readonly graceMs: number;
  /** The grace is over: abort the handlers' signal. */
  expire(): void;
  /** Handlers still running `PULL.abandonAfterMs` later: give up; returns their sequences. */
  abandon(): number[];
}

/**
 * Waits for running handlers: `graceMs`, then `expire()` and {@link PULL.abandonAfterMs} more,
 * then `abandon()`. Resolves with the abandoned sequences (none when all finished).
 */
export async function drainHandlers(h: DrainHooks): Promise<number[]> {
  if (await untilIdle(h, h.graceMs)) return [];
  h.expire();
  if (await untilIdle(h, PULL.abandonAfterMs)) return [];
  return h.abandon();
}

async function untilIdle(h: DrainHooks, ms: number): Promise<boolean> {
  if (!h.busy()) return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      h.onWake(() => {
        if (!h.busy()) resolve(true);
      });
    });
  } finally {
    clearTimeout(timer);
    h.onWake(undefined);
  }
}
