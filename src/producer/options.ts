import type { Codec } from "../codec/types.js";
import { type Duration, toBackoffMillis, toTimerMillis } from "../duration/index.js";
import { ErrInvalidDuration, ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import { resolveTracing, type TracerSource } from "../tracing/index.js";
import type { PublishHook } from "./types.js";

/** What producer options write into; read once by `createProducer`. */
export interface ProducerDraft {
  /** Tells producer options they were given to a producer (see requirePlace). */
  readonly place?: "producer";
  codec?: unknown;
  attempts?: unknown;
  backoffInitial?: unknown;
  backoffMax?: unknown;
  timeout?: unknown;
  onPublish?: unknown;
  /** Hooks that jetroute's own options add (publish metrics), called before `onPublish`. */
  observers?: unknown[];
  logger?: unknown;
  /** `withTracing(...)`: the same option as the Broker's. */
  tracing?: unknown;
}

/** Configures `createProducer`. Options only record; the producer validates them once. */
export type ProducerOption = (draft: ProducerDraft) => void;

/** A producer's validated, frozen settings. */
export interface ProducerSettings {
  readonly codec: Codec;
  readonly attempts: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly timeoutMs: number;
  readonly onPublish: PublishHook | undefined;
  readonly logger: Logger | undefined;
  /** Where send spans go; undefined when tracing is off. */
  readonly tracing: TracerSource | undefined;
}

const MAX_ATTEMPTS = 100;

/**
 * The codec for payloads and replies when a call names none.
 * @default jsonCodec()
 */
export function withCodec(codec: Codec): ProducerOption {
  return (d) => {
    d.codec = codec;
  };
}

/**
 * Total attempts of a JetStream publish (the first one included) on transient failures: no
 * responders while a stream leader is elected, 503s, and timeouts when a msgId makes the retry
 * safe. An integer from 1 to 100.
 * @default 3
 */
export function withPublishRetries(attempts: number): ProducerOption {
  return (d) => {
    d.attempts = attempts;
  };
}

/**
 * Delay before each retry: `initial`, doubling per attempt, capped at `max`.
 * @default "100ms", "2s"
 */
export function withRetryBackoff(initial: Duration, max: Duration): ProducerOption {
  return (d) => {
    d.backoffInitial = initial;
    d.backoffMax = max;
  };
}

/**
 * How long one JetStream publish attempt waits for its ack, and a request for its reply
 * (per-call `timeoutMs` overrides it). At least 1 ms.
 * @default "5s"
 */
export function withPublishTimeout(timeout: Duration): ProducerOption {
  return (d) => {
    d.timeout = timeout;
  };
}

/**
 * Called after every publish, JetStream publish and request, with its outcome and latency.
 * Runs on the publish path, not awaited: keep it cheap. A throw or a rejected promise is logged
 * at warn and ignored.
 * @default none
 */
export function withOnPublish(hook: PublishHook): ProducerOption {
  return (d) => {
    d.onPublish = hook;
  };
}

/**
 * Where retries and hook failures are logged.
 * @default a `component: "producer"` child of the connection's logger
 */
export function withProducerLogger(logger: Logger): ProducerOption {
  return (d) => {
    d.logger = logger;
  };
}

/** Defaults, then options, then one validation pass; the result is frozen. */
export function resolveProducerSettings(
  options: readonly ProducerOption[],
  defaultCodec: Codec,
): ProducerSettings {
  const d: ProducerDraft = { place: "producer" };
  for (const option of options) option(d);

  const codec = d.codec ?? defaultCodec;
  if (!isCodec(codec)) {
    throw new ErrInvalidOption(
      invalidValueMessage("withCodec", codec, "an object with encode and decode functions"),
    );
  }
  const attempts = d.attempts ?? 3;
  if (
    typeof attempts !== "number" ||
    !Number.isInteger(attempts) ||
    attempts < 1 ||
    attempts > MAX_ATTEMPTS
  ) {
    throw new ErrInvalidOption(
      invalidValueMessage("withPublishRetries", attempts, `an integer from 1 to ${MAX_ATTEMPTS}`),
    );
  }
  const { initialMs: backoffInitialMs, maxMs: backoffMaxMs } = toBackoffMillis(
    d.backoffInitial ?? "100ms",
    d.backoffMax ?? "2s",
    "withRetryBackoff",
  );
  const timeoutMs = toTimerMillis(d.timeout ?? "5s", "withPublishTimeout");
  if (timeoutMs < 1) {
    throw new ErrInvalidDuration(
      invalidValueMessage("withPublishTimeout", d.timeout, "at least 1 ms"),
    );
  }
  if (d.onPublish !== undefined && typeof d.onPublish !== "function") {
    throw new ErrInvalidOption(invalidValueMessage("withOnPublish", d.onPublish, "a function"));
  }
  const hooks = [...(d.observers ?? []), ...(d.onPublish === undefined ? [] : [d.onPublish])];
  if (hooks.some((h) => typeof h !== "function")) {
    throw new ErrInvalidOption(invalidValueMessage("publish observer", d.observers, "functions"));
  }
  if (d.logger !== undefined && !isLogger(d.logger)) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        "withProducerLogger",
        d.logger,
        "a logger with debug/info/warn/error/child",
      ),
    );
  }
  return Object.freeze({
    codec,
    attempts,
    backoffInitialMs,
    backoffMaxMs,
    timeoutMs,
    onPublish: chainHooks(hooks as PublishHook[]),
    logger: d.logger as Logger | undefined,
    tracing: resolveTracing(d.tracing),
  });
}

/** One hook calling every hook in order; the last one's promise is the one the producer watches. */
function chainHooks(hooks: readonly PublishHook[]): PublishHook | undefined {
  if (hooks.length <= 1) return hooks[0];
  const last = hooks.length - 1;
  return (event) => {
    for (let i = 0; i < last; i++) (hooks[i] as PublishHook)(event);
    return (hooks[last] as PublishHook)(event);
  };
}

/** True for anything with a codec's shape; used to check `withCodec` and per-call codecs. */
export function isCodec(value: unknown): value is Codec {
  const c = value as Codec | null | undefined;
  return (
    typeof c === "object" &&
    c !== null &&
    typeof c.encode === "function" &&
    typeof c.decode === "function"
  );
}

function isLogger(value: unknown): value is Logger {
  const l = value as Logger | null;
  return (
    typeof l === "object" &&
    l !== null &&
    typeof l.debug === "function" &&
    typeof l.warn === "function" &&
    typeof l.error === "function" &&
    typeof l.child === "function"
  );
}
