import type { TextMapPropagator, TracerProvider } from "@opentelemetry/api";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { requirePlace } from "../options/index.js";
import { TracerSource } from "./source.js";

/** Where a tracing option writes; both the Broker's and the producer's drafts have it. */
export interface TracingDraft {
  tracing?: unknown;
}

/**
 * A tracing setting, accepted both by `new Broker(...)` and by `createProducer(conn, ...)` (the
 * one option that is the same thing on both).
 */
export type TracingOption = (draft: TracingDraft) => void;

/** Tracing with something other than the global OpenTelemetry API. */
export interface TracingOptions {
  /**
   * Where spans are created.
   * @default the global provider (`trace.getTracerProvider()`), looked up per message so an SDK
   * registered after the broker started is used
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Writes the trace context into published headers and reads it from received ones.
   * @default the global propagator (`propagation`): W3C `traceparent` / `tracestate` once an SDK
   * registered it
   */
  readonly propagator?: TextMapPropagator;
}

/**
 * OpenTelemetry traces: on by default through the global `@opentelemetry/api`, and a no-op
 * until an SDK registers a tracer provider. `withTracing(false)` turns them off;
 * `withTracing({ tracerProvider, propagator })` uses the given ones instead of the globals.
 * On a Broker it covers its routes' process spans and the default `ctx.producer`; on
 * `createProducer` that producer's send spans and header injection. Validated by the
 * constructor: anything else throws ErrInvalidOption.
 * @default true (the global tracer provider and propagator)
 * @example
 * new Broker(withConnection(conn), withTracing({ tracerProvider: provider }));
 * createProducer(conn, withTracing(false));
 */
export function withTracing(setting: boolean | TracingOptions): TracingOption {
  return (d) => {
    requirePlace(d, "withTracing", "broker", "producer");
    if (d.tracing !== undefined) {
      throw new ErrInvalidOption("withTracing was given twice; give it once");
    }
    if (setting === undefined) {
      throw new ErrInvalidOption(
        invalidValueMessage(
          "withTracing",
          setting,
          "true, false or { tracerProvider?, propagator? }",
        ),
      );
    }
    d.tracing = setting;
  };
}

/** Internal: hands an already resolved source on (the Broker to its default producer). */
export function withTracerSource(source: TracerSource | undefined): TracingOption {
  return (d) => {
    d.tracing = source ?? false;
  };
}

/** The global API's source, shared: it holds no per-owner state worth separating. */
let globalSource: TracerSource | undefined;

/**
 * Validates a draft's tracing setting once: the source to trace with, or undefined when off.
 * Throws ErrInvalidOption naming `withTracing` for anything but a boolean or TracingOptions.
 */
export function resolveTracing(value: unknown): TracerSource | undefined {
  if (value instanceof TracerSource) return value;
  if (value === undefined || value === true) {
    globalSource ??= new TracerSource(undefined, undefined);
    return globalSource;
  }
  if (value === false) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ErrInvalidOption(
      invalidValueMessage("withTracing", value, "true, false or { tracerProvider?, propagator? }"),
    );
  }
  const { tracerProvider, propagator, ...rest } = value as Record<string, unknown>;
  const unknownKey = Object.keys(rest)[0];
  if (unknownKey !== undefined) {
    throw new ErrInvalidOption(
      `withTracing has no option "${unknownKey}"; it takes tracerProvider and propagator`,
    );
  }
  if (tracerProvider !== undefined && !hasMethods(tracerProvider, ["getTracer"])) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "withTracing tracerProvider",
        tracerProvider,
        "an OpenTelemetry TracerProvider (with getTracer)",
      ),
    );
  }
  if (propagator !== undefined && !hasMethods(propagator, ["inject", "extract", "fields"])) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "withTracing propagator",
        propagator,
        "an OpenTelemetry TextMapPropagator (with inject, extract, fields)",
      ),
    );
  }
  return new TracerSource(
    tracerProvider as TracerProvider | undefined,
    propagator as TextMapPropagator | undefined,
  );
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === "function")
  );
}
