import { performance } from "node:perf_hooks";
import { causeText } from "../errors/index.js";
import type {
  Instrument,
  MessageObservation,
  MessageOutcome,
  OutcomeDetail,
  RouteObserver,
} from "../observe/index.js";
import type { RouteSpec } from "../router/types.js";
import type { ServiceConfig } from "./config.js";

/** One endpoint's counters as `$SRV.STATS` reports them; times in nanoseconds. */
export interface EndpointCounts {
  readonly numRequests: number;
  readonly numErrors: number;
  /** `"<code>:<description>"` of the last error reply, as nats.go formats it; "" when none. */
  readonly lastError: string;
  readonly processingTimeNs: number;
  readonly averageProcessingTimeNs: number;
}

/** True when `spec` is a request-reply route the service includes. */
export function isEndpoint(config: ServiceConfig, spec: RouteSpec): boolean {
  return spec.kind === "request" && config.endpoints.get(spec.name) !== false;
}

/**
 * Counts each endpoint's requests from the broker's observer hook: a request counts once its
 * outcome was applied (the reply sent), so a caller holding its reply and then asking
 * `$SRV.STATS` sees it counted. Processing time runs from the handler's start to that point.
 */
export class ServiceStats implements Instrument {
  readonly #config: ServiceConfig;
  readonly #endpoints = new Map<string, EndpointCounter>();

  constructor(config: ServiceConfig) {
    this.#config = config;
  }

  route(spec: RouteSpec): RouteObserver | undefined {
    return isEndpoint(this.#config, spec) ? this.#counter(spec.name) : undefined;
  }

  /** The endpoint's counts now (zeros before its first request). */
  counts(route: string): EndpointCounts {
    return this.#counter(route).snapshot();
  }

  #counter(route: string): EndpointCounter {
    let c = this.#endpoints.get(route);
    if (c === undefined) {
      c = new EndpointCounter();
      this.#endpoints.set(route, c);
    }
    return c;
  }
}

class EndpointCounter implements RouteObserver {
  requests = 0;
  errors = 0;
  lastError = "";
  /** Sum of processing times, ms (fractional); reported in ns. */
  totalMs = 0;

  begin(): MessageObservation {
    return new RequestObservation(this, performance.now());
  }

  snapshot(): EndpointCounts {
    const processingTimeNs = Math.round(this.totalMs * 1e6);
    return {
      numRequests: this.requests,
      numErrors: this.errors,
      lastError: this.lastError,
      processingTimeNs,
      averageProcessingTimeNs:
        this.requests === 0 ? 0 : Math.round(processingTimeNs / this.requests),
    };
  }
}

class RequestObservation implements MessageObservation {
  readonly #counter: EndpointCounter;
  readonly #start: number;

  constructor(counter: EndpointCounter, start: number) {
    this.#counter = counter;
    this.#start = start;
  }

  within<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B): R {
    return fn(a, b);
  }

  handled(): void {}

  settled(outcome: MessageOutcome, detail?: OutcomeDetail): void {
    const c = this.#counter;
    c.requests++;
    c.totalMs += performance.now() - this.#start;
    if (outcome !== "error") return;
    c.errors++;
    c.lastError = lastErrorText(detail);
  }
}

/**
 * nats.go's micro package records an error reply as `"<code>:<description>"`; a failure without
 * a reply (never on request routes, which always answer) falls back to the error's text.
 */
function lastErrorText(detail: OutcomeDetail | undefined): string {
  if (detail?.replyCode !== undefined) {
    return `${detail.replyCode}:${detail.replyDescription ?? ""}`;
  }
  return detail?.error === undefined ? "error" : causeText(detail.error);
}
