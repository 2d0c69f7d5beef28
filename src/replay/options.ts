import { requireConnection } from "../conn/require.js";
import type { Connection } from "../conn/types.js";
import { ErrInvalidOption, ErrOptionNotSupported, invalidValueMessage } from "../errors/index.js";
import { type Logger, silentLogger } from "../logger/index.js";
import { checkKeys } from "../options/index.js";
import { parseStartAt, type StreamPosition } from "../position/index.js";
import { createProducer } from "../producer/index.js";
import type { Producer } from "../producer/types.js";
import type { Route } from "../router/route.js";
import type { JetStreamRouteSpec, Middleware } from "../router/types.js";
import { buildRouteSpec } from "../router/validate.js";
import type { ReplayOptions, ReplayProgress } from "./types.js";

/** Where a replay starts: a position a consumer can start at. */
export type ReplayStart = Extract<StreamPosition, { kind: "all" | "seq" | "time" | "ago" }>;
/** Where a replay ends: the stream's end when it starts, a sequence, or a time. */
export type ReplayStop =
  | { readonly kind: "end" }
  | Extract<StreamPosition, { kind: "seq" | "time" | "ago" }>;

/** The validated options of one replay. */
export interface ReplayPlan {
  readonly spec: JetStreamRouteSpec;
  readonly from: ReplayStart;
  readonly to: ReplayStop;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((p: ReplayProgress) => void) | undefined;
  readonly progressIntervalMs: number;
  readonly middleware: readonly Middleware[];
  readonly logger: Logger;
  readonly producer: Producer;
  readonly concurrency: number;
}

/** Every option replay takes: a key added to ReplayOptions fails to compile until listed. */
const REPLAY_KEYS: Record<keyof ReplayOptions, true> = {
  from: true,
  to: true,
  signal: true,
  onProgress: true,
  progressIntervalMs: true,
  middleware: true,
  logger: true,
  producer: true,
  concurrency: true,
};

const DEFAULT_PROGRESS_INTERVAL_MS = 250;
const MAX_CONCURRENCY = 10_000;

/**
 * Validates everything before any I/O: the route (as the broker would, ErrOptionNotSupported
 * for a core route) and each option, throwing ErrInvalidOption naming the option.
 */
export function replayPlan(conn: Connection, r: Route, options: ReplayOptions): ReplayPlan {
  requireConnection(conn, "replay conn");
  const spec = buildRouteSpec(r);
  if (spec.kind !== "jetstream") {
    throw new ErrOptionNotSupported(
      `replay needs a JetStream route (withStream); route "${spec.name}" is a core ${spec.kind} route`,
    );
  }
  if (typeof options !== "object" || options === null) {
    throw new ErrInvalidOption(invalidValueMessage("replay options", options, "an object"));
  }
  checkKeys(options, Object.keys(REPLAY_KEYS), "replay");
  const o = options;
  return {
    spec,
    from: startOf(o.from, spec.name),
    to: stopOf(o.to, spec.name),
    signal: signalOf(o.signal),
    onProgress: optionalFunction(o.onProgress, "onProgress"),
    progressIntervalMs: intervalOf(o.progressIntervalMs),
    middleware: middlewareOf(o.middleware),
    logger: o.logger ?? silentLogger(),
    concurrency: concurrencyOf(o.concurrency),
    // Last: every option is valid by now.
    producer: o.producer ?? createProducer(conn),
  };
}

const FROM_EXPECTED =
  '"all", a stream sequence (integer >= 1), a Date, an ISO 8601 time or a duration back ("2h"); a replay reads what is stored, so not "new" or "last-per-subject"';
const TO_EXPECTED =
  '"end" (the default), a stream sequence (integer >= 1), a Date, an ISO 8601 time or a duration back ("2h")';

function startOf(value: unknown, route: string): ReplayStart {
  const invalid = () =>
    new ErrInvalidOption(invalidValueMessage("replay from", value, FROM_EXPECTED, route));
  if (value === undefined) throw invalid();
  const p = parseStartAt(value, "replay from", route, new Date(), FROM_EXPECTED);
  if (p.kind === "new" || p.kind === "last-per-subject") throw invalid();
  return p;
}

function stopOf(value: unknown, route: string): ReplayStop {
  if (value === undefined || value === "end") return { kind: "end" };
  const p = parseStartAt(value, "replay to", route, new Date(), TO_EXPECTED);
  if (p.kind === "seq" || p.kind === "time" || p.kind === "ago") return p;
  throw new ErrInvalidOption(invalidValueMessage("replay to", value, TO_EXPECTED, route));
}

function signalOf(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new ErrInvalidOption(invalidValueMessage("replay signal", value, "an AbortSignal"));
}

function optionalFunction<F>(value: F | undefined, name: string): F | undefined {
  if (value === undefined || typeof value === "function") return value;
  throw new ErrInvalidOption(invalidValueMessage(`replay ${name}`, value, "a function"));
}

function intervalOf(value: unknown): number {
  if (value === undefined) return DEFAULT_PROGRESS_INTERVAL_MS;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  throw new ErrInvalidOption(
    invalidValueMessage("replay progressIntervalMs", value, "a number of ms >= 0"),
  );
}

function middlewareOf(value: unknown): readonly Middleware[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((m) => typeof m === "function")) {
    return Object.freeze([...value]) as readonly Middleware[];
  }
  throw new ErrInvalidOption(
    invalidValueMessage("replay middleware", value, "an array of middleware functions"),
  );
}

function concurrencyOf(value: unknown): number {
  if (value === undefined) return 1;
  if (
    Number.isSafeInteger(value) &&
    (value as number) >= 1 &&
    (value as number) <= MAX_CONCURRENCY
  ) {
    return value as number;
  }
  throw new ErrInvalidOption(
    invalidValueMessage("replay concurrency", value, `an integer from 1 to ${MAX_CONCURRENCY}`),
  );
}
