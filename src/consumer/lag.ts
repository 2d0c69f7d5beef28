import type { JetStreamManager } from "@nats-io/jetstream";
import type { ConsumerLag } from "../health/types.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";

/**
 * Reads the durable's counts (`num_pending`, `num_ack_pending`, `num_redelivered`,
 * `num_waiting`) at once and then every `intervalMs` for `health()`: one consumer-info request
 * per route per interval, never per message. A failed read keeps the last counts (logged at
 * debug: a lost consumer is the pull's business). Returns the function that stops it and waits
 * for a read under way.
 */
export function startLagPoll(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  intervalMs: number,
  report: (lag: ConsumerLag) => void,
  log: Logger,
): () => Promise<void> {
  let reading: Promise<void> | undefined;
  const read = () => {
    if (reading !== undefined) return;
    reading = jsm.consumers
      .info(spec.stream, spec.durable)
      .then((info) =>
        report(
          Object.freeze({
            pending: info.num_pending,
            ackPending: info.num_ack_pending,
            redelivered: info.num_redelivered,
            waiting: info.num_waiting,
            readAt: new Date(),
          }),
        ),
      )
      .catch((err: unknown) => log.debug({ err }, "could not read the consumer's counts"))
      .finally(() => {
        reading = undefined;
      });
  };
  read();
  const timer = setInterval(read, intervalMs);
  return async () => {
    clearInterval(timer);
    await reading;
  };
}
