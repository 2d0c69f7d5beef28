import { Match, type MsgHdrs } from "@nats-io/nats-core";
import type { TextMapGetter, TextMapSetter } from "@opentelemetry/api";

/**
 * Reads propagation fields from NATS headers ignoring case: nats.js keeps names as sent, and
 * Go's propagation.HeaderCarrier writes canonical MIME names ("Traceparent").
 */
export const headerGetter: TextMapGetter<MsgHdrs> = {
  keys: (h) => h.keys(),
  get: (h, key) => {
    const v = h.get(key, Match.IgnoreCase);
    return v === "" ? undefined : v;
  },
};

/** Writes a propagation field, replacing any case variant of it. */
export const headerSetter: TextMapSetter<MsgHdrs> = {
  set: (h, key, value) => h.set(key, value, Match.IgnoreCase),
};
