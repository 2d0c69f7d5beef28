import type { MsgHdrs } from "@nats-io/nats-core";
import {
  type Context,
  context,
  type Link,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { JETROUTE_VERSION } from "../version.js";
import { headerGetter, headerSetter } from "./carrier.js";

/**
 * The API's no-op provider: what a ProxyTracerProvider delegates to while no SDK is registered.
 * Not exported by @opentelemetry/api; a fresh proxy hands out the shared instance.
 */
const NOOP_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

export const TRACER_NAME = "jetroute";

/**
 * Where spans go and how the context travels in headers, resolved once per broker or producer.
 * `tracer()` is asked per message: undefined while only the API's no-op provider is there, so
 * an app without an SDK pays a few property reads per message and nothing else, and an SDK
 * registered after the broker started is picked up.
 */
export class TracerSource {
  readonly #provider: TracerProvider | undefined;
  readonly #propagator: TextMapPropagator | undefined;
  #delegate: TracerProvider | undefined;
  #tracer: Tracer | undefined;

  /** `provider` / `propagator` undefined: the global ones (`trace`, `propagation`). */
  constructor(provider: TracerProvider | undefined, propagator: TextMapPropagator | undefined) {
    this.#provider = provider;
    this.#propagator = propagator;
  }

  /** The tracer to use now, or undefined when spans would all be no-ops. */
  tracer(): Tracer | undefined {
    const provider = this.#provider ?? trace.getTracerProvider();
    const real = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
    if (real === NOOP_PROVIDER) return undefined;
    if (real !== this.#delegate) {
      this.#tracer = real.getTracer(TRACER_NAME, JETROUTE_VERSION);
      this.#delegate = real;
    }
    return this.#tracer;
  }

  /** The creation context carried by `headers`, on top of ROOT_CONTEXT (never the ambient one). */
  extract(headers: MsgHdrs | undefined): Context {
    if (headers === undefined) return ROOT_CONTEXT;
    const p = this.#propagator;
    return p === undefined
      ? propagation.extract(ROOT_CONTEXT, headers, headerGetter)
      : p.extract(ROOT_CONTEXT, headers, headerGetter);
  }

  /** Writes `ctx` into `headers` with the propagator. */
  inject(ctx: Context, headers: MsgHdrs): void {
    const p = this.#propagator;
    if (p === undefined) propagation.inject(ctx, headers, headerSetter);
    else p.inject(ctx, headers, headerSetter);
  }

  /** The header names the propagator writes (W3C: traceparent, tracestate). */
  fields(): readonly string[] {
    return (this.#propagator ?? propagation).fields();
  }
}

/** A link to `ctx`'s span context, when it has a valid one. */
export function linkTo(ctx: Context): Link[] | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc !== undefined && trace.isSpanContextValid(sc) ? [{ context: sc }] : undefined;
}

/** The active context (the API's, so the app's context manager decides). */
export function activeContext(): Context {
  return context.active();
}
