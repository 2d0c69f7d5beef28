import type { BrokerOption } from "../broker/options.js";
import { describeValue, ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { requirePlace } from "../options/index.js";
import { HttpEndpoint, type HttpEndpointSettings } from "./endpoint.js";

/** Options of {@link withHttpEndpoint}. */
export interface HttpEndpointOptions {
  /** TCP port, 0 to 65535; 0 lets the OS choose (read it from `broker.httpAddress()`). */
  readonly port: number;
  /**
   * The address to bind, e.g. `"127.0.0.1"` to serve this machine only.
   * @default every interface (Node's default: `::`, or `0.0.0.0` without IPv6)
   */
  readonly host?: string;
}

const KEYS: ReadonlySet<string> = new Set(["port", "host"]);

/**
 * An HTTP endpoint (`node:http`) for probes and scrapers, listening while `run()` runs: started
 * before any route, closed (keep-alive sockets too) after every route drained.
 * - `GET /healthz`: 200 `{"live":true,"state":...}` unless the broker failed (503);
 * - `GET /readyz`: 200 when connected and every route is running (`broker.health().ready`),
 *   else 503 with `{"ready":false,"notReady":[...]}` saying what is not;
 * - `GET /metrics`: the `withMetrics` registry in the Prometheus text format (404 saying to
 *   add `withMetrics()` when metrics are off).
 * Other paths get 404, other methods than GET and HEAD 405.
 * `broker.httpAddress()` gives `{ host, port, url }` once it listens.
 * @throws ErrInvalidOption (at `new Broker`) for a bad port or host, or a second `withHttpEndpoint`;
 *   `run()` rejects with ErrHttpListen when the port cannot be listened on (in use, ...)
 * @example new Broker(withConnection(conn), withMetrics(), withHttpEndpoint({ port: 9464 }))
 * @default off
 */
export function withHttpEndpoint(options: HttpEndpointOptions): BrokerOption {
  return (d) => {
    requirePlace(d, "withHttpEndpoint", "broker");
    if (d.httpEndpoint !== undefined) {
      throw new ErrInvalidOption("withHttpEndpoint was given twice; give it once per broker");
    }
    const endpoint = new HttpEndpoint(checkOptions(options));
    d.httpEndpoint = endpoint;
    d.attachments.push(endpoint);
  };
}

function checkOptions(options: unknown): HttpEndpointSettings {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ErrInvalidOption(
      invalidValueMessage("withHttpEndpoint", options, "{ port, host? }, e.g. { port: 9464 }"),
    );
  }
  const unknown = Object.keys(options).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) {
    throw new ErrInvalidOption(
      `withHttpEndpoint has no option ${unknown.map((k) => describeValue(k)).join(", ")}; it takes { port, host? }`,
    );
  }
  const { port, host } = options as { port?: unknown; host?: unknown };
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "withHttpEndpoint port",
        port,
        "an integer from 0 to 65535 (0: any free port)",
      ),
    );
  }
  if (
    host !== undefined &&
    (typeof host !== "string" || host.trim() === "" || host !== host.trim())
  ) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "withHttpEndpoint host",
        host,
        'an address or host name, e.g. "127.0.0.1"',
      ),
    );
  }
  return Object.freeze({ port, host });
}
