// The broker's HTTP endpoint: /healthz, /readyz and /metrics for probes and scrapers.
export { type HttpEndpointOptions, withHttpEndpoint } from "./option.js";
export type { HttpAddress } from "./types.js";
