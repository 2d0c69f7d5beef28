import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import type {
  JetStreamPublishOptions,
  PublishAck,
  WindowItem,
  WindowOptions,
  WindowResult,
} from "./types.js";

/**
 * How the window publishes. `send` makes the first attempt and throws synchronously for input
 * it refuses (nothing was sent). `recover`, when given, takes a failed first attempt over
 * (retries). Splitting them keeps the success path as lean as raw `js.publish().then()`.
 */
export interface WindowPort {
  send(
    subject: string,
    payload: unknown,
    options: JetStreamPublishOptions | undefined,
  ): Promise<PublishAck>;
  recover?(
    subject: string,
    payload: unknown,
    options: JetStreamPublishOptions | undefined,
    error: unknown,
  ): Promise<PublishAck>;
}

const MAX_WINDOW = 1_000_000;

/**
 * The window and signal of `options`, checked.
 * @throws ErrInvalidOption for a bad window or signal; the signal's reason when it is aborted
 */
export function checkWindowOptions(options: WindowOptions = {}): {
  window: number;
  signal: AbortSignal | undefined;
} {
  const window = options.window ?? 1000;
  if (
    typeof window !== "number" ||
    !Number.isInteger(window) ||
    window < 1 ||
    window > MAX_WINDOW
  ) {
    throw new ErrInvalidOption(
      invalidValueMessage("window", window, `an integer from 1 to ${MAX_WINDOW}`),
    );
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ErrInvalidOption(invalidValueMessage("signal", signal, "an AbortSignal"));
  }
  signal?.throwIfAborted();
  return { window, signal };
}

/**
 * Publishes every item through `port` with at most `window` in flight. The next item is taken only once
 * a slot is free, so nothing queues unbounded however long the input is. Every started publish
 * settles before this returns or throws.
 */
export async function publishWindowed(
  port: WindowPort,
  items: Iterable<WindowItem> | AsyncIterable<WindowItem>,
  options: WindowOptions = {},
): Promise<WindowResult> {
  const { window, signal } = checkWindowOptions(options);

  let inFlight = 0;
  let published = 0;
  let duplicates = 0;
  const failed: Array<{ index: number; error: unknown }> = [];
  let wake: (() => void) | undefined;

  const settled = (): void => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  // Shared by every item: one closure per item (the failure path's) is all the window allocates.
  const acked = (ack: PublishAck): void => {
    if (ack.duplicate) duplicates++;
    else published++;
    settled();
  };
  const fail = (index: number, error: unknown): void => {
    failed.push({ index, error });
    settled();
  };
  const drainTo = async (max: number): Promise<void> => {
    while (inFlight > max) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  const retry = (
    index: number,
    subject: string,
    payload: unknown,
    itemOptions: JetStreamPublishOptions | undefined,
    error: unknown,
  ): void => {
    if (port.recover === undefined) {
      fail(index, error);
      return;
    }
    port.recover(subject, payload, itemOptions, error).then(acked, (e: unknown) => fail(index, e));
  };

  // One loop for both kinds of input, driven by hand: a sync iterable skips `for await` (a
  // microtask per item), and `send` is called right here, not from a helper, because nats.js
  // captures a stack trace per publish and every extra frame makes that capture dearer.
  const isAsync = Symbol.asyncIterator in items;
  const iterator = isAsync
    ? (items as AsyncIterable<WindowItem>)[Symbol.asyncIterator]()
    : (items as Iterable<WindowItem>)[Symbol.iterator]();
  let index = 0;
  let stopped = false;
  let exhausted = false;
  try {
    for (;;) {
      // Checked before taking an item, never after: an item taken from a source that consumes
      // (a queue, a cursor) is published, not dropped.
      if (signal?.aborted) {
        stopped = true;
        break;
      }
      const next = isAsync
        ? await iterator.next()
        : (iterator.next() as IteratorResult<WindowItem>);
      if (next.done) {
        exhausted = true;
        break;
      }
      if (inFlight >= window) await drainTo(window - 1);
      const i = index++;
      inFlight++;
      let subject: string;
      let payload: unknown;
      let itemOptions: JetStreamPublishOptions | undefined;
      let pending: Promise<PublishAck>;
      try {
        ({ subject, payload, options: itemOptions } = checkItem(next.value));
        pending = port.send(subject, payload, itemOptions);
      } catch (error) {
        // Refused before sending (bad subject, unusable item): that item fails, not the batch.
        fail(i, error);
        continue;
      }
      pending.then(acked, (error: unknown) => retry(i, subject, payload, itemOptions, error));
    }
  } finally {
    // Like for-of on an early exit: let the source close its resources.
    if (!exhausted) await iterator.return?.();
    await drainTo(0);
  }
  if (stopped) signal?.throwIfAborted();
  failed.sort((a, b) => a.index - b.index);
  return { published, duplicates, failed };
}

function checkItem(item: unknown): WindowItem {
  if (typeof item !== "object" || item === null) {
    throw new ErrInvalidOption(
      invalidValueMessage("window item", item, "an object { subject, payload, options? }"),
    );
  }
  return item as WindowItem;
}
