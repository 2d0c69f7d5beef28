import type { ConsumerMessages, JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import { isStreamNotFound } from "../consumer/index.js";
import { ErrStreamNotFound, ErrStreamRecreated } from "../errors/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";

/** How often, while a replay reads, its stream is checked for being deleted or created again. */
export const STREAM_CHECK_MS = 2_000;

/** A running watch: the error that stopped the reading, if any. */
export interface StreamWatch {
  error(): Error | undefined;
  stop(): void;
}

/**
 * Watches the replay's stream while it reads: deleted (the pull's `stream_not_found` status, or
 * a stream-info read every {@link STREAM_CHECK_MS}) fails it with ErrStreamNotFound; created
 * again under its name (another `created`: sequences restarted, the ordered consumer would wait
 * for sequences the new stream may never reach) with ErrStreamRecreated. Either stops
 * `messages`, so the read loop ends.
 */
export function watchStream(
  messages: ConsumerMessages,
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  started: StreamInfo,
): StreamWatch {
  let failure: Error | undefined;
  const fail = (err: Error) => {
    if (failure !== undefined) return;
    failure = err;
    messages.stop();
  };
  const deleted = () =>
    new ErrStreamNotFound(
      `stream "${spec.stream}" was deleted during the replay of route "${spec.name}"`,
    );
  void (async () => {
    for await (const s of messages.status()) if (s.type === "stream_not_found") fail(deleted());
  })().catch(() => {});
  let reading = false;
  const timer = setInterval(() => {
    if (reading || failure !== undefined) return;
    reading = true;
    jsm.streams
      .info(spec.stream)
      .then((now) => {
        if (now.created === started.created) return;
        fail(new ErrStreamRecreated(spec.name, spec.stream, started.created, now.created));
      })
      .catch((err: unknown) => {
        if (isStreamNotFound(err)) fail(deleted());
      })
      .finally(() => {
        reading = false;
      });
  }, STREAM_CHECK_MS);
  timer.unref();
  return {
    error: () => failure,
    stop: () => clearInterval(timer),
  };
}
