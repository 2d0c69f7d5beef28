import type { RouteOption } from "./options.js";
import type { Handler } from "./types.js";

/**
 * A route as written: name, handler and options, recorded but not yet checked. The broker turns
 * it into a validated RouteSpec (buildRouteSpec) when it is registered.
 */
export interface Route {
  readonly name: unknown;
  readonly handler: unknown;
  readonly options: readonly RouteOption[];
}

/**
 * Declares a route. Nothing is validated here: bad values throw at `broker.register(...)`, each
 * naming the route and the option.
 * @example
 * const charge = route(
 *   "charge",
 *   async (msg, ctx) => {
 *     await payments.charge(msg.json<Order>(), { signal: ctx.signal });
 *     return ack();
 *   },
 *   withStream("ORDERS"),
 *   withSubject("orders.created"),
 *   withConcurrency(8),
 *   withDLQ("dlq.orders"),
 * );
 */
export function route(name: string, handler: Handler, ...options: RouteOption[]): Route {
  return Object.freeze({ name, handler, options: Object.freeze([...options]) });
}
