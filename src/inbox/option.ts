import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { type RouteDraft, type RouteOption, RouteOptionName } from "../router/options.js";
import type { InboxOptions, InboxSpec, InboxStore } from "./types.js";

/**
 * Runs the route's handler at most once per message key, across every consumer of the durable
 * and every redelivery: a delivery whose key `store` recorded as processed is acked without
 * running the handler; one whose key another consumer is processing right now is nak'd until
 * that one is done. The key is header `Jetroute-Event-Id` (set by the envelope), else
 * `Nats-Msg-Id`, else `<stream>:<sequence>`, unless `options.key` gives it. JetStream routes
 * only (a core route throws ErrOptionNotSupported at register); a bad store or key function
 * throws ErrInvalidOption at register. See docs/inbox.md for what each store guarantees.
 * @default none: the handler runs on every delivery (at least once)
 * @example
 * route("bill", handler, withStream("ORDERS"), withSubject("orders.placed"), withInbox(kvInbox(conn)));
 */
export function withInbox<Tx>(store: InboxStore<Tx>, options: InboxOptions = {}): RouteOption {
  return (draft: RouteDraft) => {
    draft.set.add(RouteOptionName.Inbox);
    draft.values.set(RouteOptionName.Inbox, { store, options });
  };
}

/** The route's validated inbox, or undefined; throws ErrInvalidOption naming the route. */
export function inboxSpecOf(draft: RouteDraft, route: string): InboxSpec | undefined {
  const raw = draft.values.get(RouteOptionName.Inbox) as
    | { store: unknown; options: unknown }
    | undefined;
  if (raw === undefined) return undefined;
  const { store, options } = raw;
  const s = store as Partial<InboxStore<unknown>> | null | undefined;
  if (typeof s !== "object" || s === null || typeof s.open !== "function") {
    const expected = "an inbox store such as kvInbox(conn) or pgInbox(pool)";
    throw new ErrInvalidOption(invalidValueMessage(RouteOptionName.Inbox, store, expected, route));
  }
  if (typeof options !== "object" || options === null) {
    const expected = "an options object ({ key })";
    throw new ErrInvalidOption(
      invalidValueMessage(`${RouteOptionName.Inbox} options`, options, expected, route),
    );
  }
  const unknown = Object.keys(options).filter((k) => k !== "key");
  if (unknown.length > 0) {
    throw new ErrInvalidOption(
      invalidValueMessage(`${RouteOptionName.Inbox} options`, options, "only { key }", route),
    );
  }
  const key = (options as InboxOptions).key;
  if (key !== undefined && typeof key !== "function") {
    const expected = "a function (msg) => string";
    throw new ErrInvalidOption(
      invalidValueMessage(`${RouteOptionName.Inbox} key`, key, expected, route),
    );
  }
  return Object.freeze({ store: s as InboxStore<unknown>, key });
}
