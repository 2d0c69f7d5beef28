// Service discovery: the broker's request-reply routes as one NATS micro service ($SRV).
export type { ServiceEndpointOptions, ServiceOptions } from "./config.js";
export { withService } from "./option.js";
