import type { BrokerOption } from "../broker/options.js";
import { ErrInvalidOption } from "../errors/index.js";
import { requirePlace } from "../options/index.js";
import { resolveServiceConfig, type ServiceOptions } from "./config.js";
import { SERVICE_ATTACHMENT, serviceResponder } from "./responder.js";
import { ServiceStats } from "./stats.js";

/**
 * Groups the broker's request-reply routes into one NATS micro service, so `nats micro ls`,
 * `nats micro info <name>`, `nats micro stats <name>` and the nats.go / nats.js service clients
 * find it: while `run()` runs, the broker answers `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS`
 * (also `.<name>` and `.<name>.<id>`, the id a NUID made per run). Each request-reply route is
 * an endpoint named after the route, on its subject and queue group; STATS counts per endpoint
 * the requests answered, the error replies (`reject()`, thrown errors, `retry()`, shutdown
 * 503s), the last one as `"<code>:<description>"`, and the processing time in nanoseconds.
 *
 * Throws ErrInvalidOption from `new Broker(...)` for a bad name (`A-Z a-z 0-9 - _`), version
 * (SemVer), description or metadata (string values). `run()` rejects with ErrInvalidOption
 * before any route starts when no request-reply route is registered (or all are left out), when
 * `endpoints` names something else, or when a route's name is not a valid endpoint name; with
 * ErrServiceDiscoveryFailed when it cannot subscribe to `$SRV.>` (permissions).
 * @example
 * new Broker(
 *   withConnection(conn),
 *   withService({ name: "prices", version: "1.2.0", description: "Price quotes" }),
 * ).register(route("quote", quote, withSubject("prices.quote"), withRequestReply(), withQueueGroup("prices")));
 * // $ nats micro ls   ->  prices 1.2.0 <id> Price quotes
 */
export function withService(options: ServiceOptions): BrokerOption {
  return (draft) => {
    requirePlace(draft, "withService", "broker");
    if (draft.attachments.some((a) => a.name === SERVICE_ATTACHMENT)) {
      throw new ErrInvalidOption(
        "withService was given twice; a broker is one service instance (give it once)",
      );
    }
    // Validated once, when the Broker applies the option; state per broker, so one option
    // value given to two brokers makes two instances.
    const config = resolveServiceConfig(options);
    const stats = new ServiceStats(config);
    draft.instruments.push(stats);
    draft.attachments.push(serviceResponder(config, stats));
  };
}
