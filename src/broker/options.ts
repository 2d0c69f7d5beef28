import type { Registry } from "prom-client";
import { requireConnection } from "../conn/require.js";
import type { Connection } from "../conn/types.js";
import { type Duration, toTimerMillis } from "../duration/index.js";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import type { HttpAddressSource } from "../http/types.js";
import { type Logger, silentLogger } from "../logger/index.js";
import type { Instrument } from "../observe/index.js";
import { createProducer, type ProducerOption } from "../producer/index.js";
import type { Producer } from "../producer/types.js";
import type { Middleware } from "../router/types.js";
import {
  resolveTracing,
  ServerAttributes,
  tracingInstrument,
  withTracerSource,
} from "../tracing/index.js";
import type { BrokerAttachment } from "./attachment.js";

/** What broker options write into; read once by the Broker constructor. */
export interface BrokerDraft {
  /** Tells broker options they were given to a Broker (see requirePlace). */
  readonly place: "broker";
  conn?: unknown;
  logger?: unknown;
  shutdownTimeout?: unknown;
  middleware: unknown[];
  producer?: unknown;
  healthInterval?: unknown;
  /** Observing capabilities (metrics, traces, service stats), added by their own options. */
  instruments: Instrument[];
  /** What lives as long as a run (HTTP endpoint, `$SRV` responder), added by their own options. */
  attachments: BrokerAttachment[];
  /** `withTracing(...)`: on (the global OpenTelemetry API) unless set to false. */
  tracing?: unknown;
  /** Options for the default producer (publish metrics), added by capability options. */
  producerOptions: ProducerOption[];
  /** Set by withMetrics: the registry `/metrics` serves and `broker.metricsRegistry()` returns. */
  metricsRegistry?: Registry;
  /** Set by withHttpEndpoint: what `broker.httpAddress()` reads. */
  httpEndpoint?: HttpAddressSource;
}

/** Configures a {@link Broker}: `new Broker(withConnection(conn), withShutdownTimeout("10s"))`. */
export type BrokerOption = (draft: BrokerDraft) => void;

/** The broker's validated, frozen settings. */
export interface BrokerSettings {
  readonly conn: Connection;
  readonly logger: Logger;
  readonly shutdownTimeoutMs: number;
  readonly middleware: readonly Middleware[];
  readonly producer: Producer;
  readonly healthIntervalMs: number;
  readonly instruments: readonly Instrument[];
  readonly attachments: readonly BrokerAttachment[];
  readonly metricsRegistry: Registry | undefined;
  readonly httpEndpoint: HttpAddressSource | undefined;
}

/** The connection every route runs on (from `connect()`). Required: without it the constructor throws ErrConnectionRequired. */
export function withConnection(conn: Connection): BrokerOption {
  return (d) => {
    d.conn = conn;
  };
}

/**
 * How long in-flight handlers get to finish once the broker stops; then their `ctx.signal`
 * aborts with ErrShutdownTimeout.
 * @default "30s"
 */
export function withShutdownTimeout(timeout: Duration): BrokerOption {
  return (d) => {
    d.shutdownTimeout = timeout;
  };
}

/**
 * Broker-wide middleware, outermost first, applied outside every route's own middleware.
 * Repeated calls append.
 * @default none
 */
export function withBrokerMiddleware(...middleware: Middleware[]): BrokerOption {
  return (d) => {
    d.middleware.push(...middleware);
  };
}

/** The producer handlers get as `ctx.producer`. @default createProducer(conn) */
export function withProducer(producer: Producer): BrokerOption {
  return (d) => {
    d.producer = producer;
  };
}

/**
 * How often each JetStream route reads its durable's counts (`num_pending`, `num_ack_pending`,
 * `num_redelivered`, `num_waiting`) for `broker.health()`: one consumer-info request per route
 * per interval while it runs, never per message. 100 ms at least.
 * @default "5s"
 */
export function withHealthInterval(interval: Duration): BrokerOption {
  return (d) => {
    d.healthInterval = interval;
  };
}

const DEFAULT_SHUTDOWN_TIMEOUT: Duration = "30s";
const DEFAULT_HEALTH_INTERVAL: Duration = "5s";
const MIN_HEALTH_INTERVAL_MS = 100;

/** Applies defaults, then options, then validates everything once. */
export function resolveBrokerSettings(options: readonly BrokerOption[]): BrokerSettings {
  const draft: BrokerDraft = {
    place: "broker",
    middleware: [],
    instruments: [],
    attachments: [],
    producerOptions: [],
  };
  options.forEach((option, i) => {
    if (typeof option !== "function") {
      throw new ErrInvalidOption(
        invalidValueMessage(`Broker option #${i + 1}`, option, "a BrokerOption (withX(...))"),
      );
    }
    option(draft);
  });
  const conn = checkConnection(draft.conn);
  const tracing = resolveTracing(draft.tracing);
  // Tracing first: its span is the outermost context, so other instruments run inside it.
  const instruments = tracing
    ? [tracingInstrument(tracing, new ServerAttributes(conn.nats)), ...draft.instruments]
    : draft.instruments;
  return Object.freeze({
    conn,
    logger: checkLogger(draft.logger),
    shutdownTimeoutMs: toTimerMillis(
      draft.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT,
      "withShutdownTimeout",
    ),
    middleware: Object.freeze(checkMiddleware(draft.middleware)),
    producer:
      draft.producer === undefined
        ? createProducer(conn, withTracerSource(tracing), ...draft.producerOptions)
        : checkProducer(draft.producer),
    healthIntervalMs: checkHealthInterval(draft.healthInterval ?? DEFAULT_HEALTH_INTERVAL),
    instruments: Object.freeze([...instruments]),
    attachments: Object.freeze([...draft.attachments]),
    metricsRegistry: draft.metricsRegistry,
    httpEndpoint: draft.httpEndpoint,
  });
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === "function")
  );
}

function checkConnection(value: unknown): Connection {
  return requireConnection(value, "withConnection");
}

function checkLogger(value: unknown): Logger {
  if (value === undefined) return silentLogger();
  if (!hasMethods(value, ["debug", "info", "warn", "error", "child"])) {
    throw new ErrInvalidOption(
      invalidValueMessage("withLogger", value, "a pino-compatible Logger"),
    );
  }
  return value as Logger;
}

function checkMiddleware(values: readonly unknown[]): Middleware[] {
  values.forEach((mw, i) => {
    if (typeof mw !== "function") {
      throw new ErrInvalidOption(
        invalidValueMessage(`withBrokerMiddleware #${i + 1}`, mw, "a middleware function"),
      );
    }
  });
  return values as Middleware[];
}

function checkProducer(value: unknown): Producer {
  if (!hasMethods(value, ["publish", "publishJetStream", "request"])) {
    throw new ErrInvalidOption(
      invalidValueMessage("withProducer", value, "a Producer from createProducer()"),
    );
  }
  return value as Producer;
}

function checkHealthInterval(value: unknown): number {
  const ms = toTimerMillis(value, "withHealthInterval");
  if (ms >= MIN_HEALTH_INTERVAL_MS) return ms;
  throw new ErrInvalidOption(
    invalidValueMessage("withHealthInterval", value, `at least ${MIN_HEALTH_INTERVAL_MS} ms`),
  );
}
