// The OpenTelemetry SDK as an application registers it, with an in-memory exporter so the
// example can print its traces. A real service would export to a collector instead (OTLP, e.g.
// @opentelemetry/sdk-node's NodeSDK); jetroute needs nothing beyond the global API either way.
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** The spans exported so far, described one trace per line. */
export interface ExampleSpans {
  describe(): string[];
}

export function startTracing(): ExampleSpans {
  const exporter = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  return { describe: () => describeTraces(exporter.getFinishedSpans()) };
}

/** "trace 4bf9…: send orders -> process orders (retried) -> process orders (acked)". */
function describeTraces(spans: readonly ReadableSpan[]): string[] {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const s of spans) {
    const id = s.spanContext().traceId;
    byTrace.set(id, [...(byTrace.get(id) ?? []), s]);
  }
  return [...byTrace].map(([id, list]) => {
    // The send span first, then the process spans (deliveries) in the order they started.
    const steps = list
      .sort((a, b) => rank(a) - rank(b) || nanos(a) - nanos(b))
      .map((s) => {
        const outcome = s.attributes["jetroute.outcome"];
        return outcome === undefined ? s.name : `${s.name} (${String(outcome)})`;
      });
    return `trace ${id.slice(0, 8)}…: ${steps.join(" -> ")}`;
  });
}

const rank = (s: ReadableSpan) => (s.kind === SpanKind.PRODUCER ? 0 : 1);
const nanos = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
