/**
 * Calls a user hook (onError, metrics, onPublish) so that it can never hurt the caller: a
 * synchronous throw and a rejected promise both go to `onFailure` (which logs). The hook is
 * not awaited: observing a message must not delay its settlement, and a hung hook must not
 * hold a worker.
 * @example guardHook(() => spec.onError?.(err, msg, ctx), (e) => log.error({ err: e }, "onError hook failed"));
 */
export function guardHook(call: () => unknown, onFailure: (err: unknown) => void): void {
  let returned: unknown;
  try {
    returned = call();
  } catch (err) {
    onFailure(err);
    return;
  }
  // Only a thenable needs a handler; the common void return costs one typeof.
  if (typeof (returned as PromiseLike<unknown> | undefined)?.then === "function") {
    try {
      (returned as PromiseLike<unknown>).then(undefined, onFailure);
    } catch (err) {
      // A hand-made thenable whose then() throws.
      onFailure(err);
    }
  }
}
