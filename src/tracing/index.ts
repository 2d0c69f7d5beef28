// OpenTelemetry traces: send spans and trace-context injection for publishes, process spans for
// every handled message (an Instrument on the observer hook). Public: withTracing and its types.
export {
  Attr as TraceAttribute,
  ServerAttributes,
  SpanEvent as TraceEvent,
} from "./attributes.js";
export {
  resolveTracing,
  type TracingDraft,
  type TracingOption,
  type TracingOptions,
  withTracerSource,
  withTracing,
} from "./options.js";
export { tracingInstrument } from "./process.js";
export { SendSpan } from "./send.js";
export { TracerSource } from "./source.js";
