/** Counters of a core route, cumulative over the runner's runs (`inFlight` is live). */
export interface CoreRouteStats {
  /** Messages the subscription delivered. */
  readonly received: number;
  /** Handlers that finished, whatever their result. */
  readonly handled: number;
  /** Handlers that threw (or timed out); each was logged and passed to `onError`. */
  readonly failed: number;
  /** Messages dropped because `concurrency + maxPending` were taken (requests got a 503). */
  readonly dropped: number;
  /** Requests dropped because they had no reply subject (request routes only). */
  readonly noReply: number;
  /** Handlers still running when the shutdown grace ended (requests got a 503). */
  readonly abandoned: number;
  /** Handlers running now. */
  readonly inFlight: number;
}

/** The mutable side of {@link CoreRouteStats}, owned by the runner. */
export class StatsCounter {
  received = 0;
  handled = 0;
  failed = 0;
  dropped = 0;
  noReply = 0;
  abandoned = 0;
  inFlight = 0;

  snapshot(): CoreRouteStats {
    return Object.freeze({
      received: this.received,
      handled: this.handled,
      failed: this.failed,
      dropped: this.dropped,
      noReply: this.noReply,
      abandoned: this.abandoned,
      inFlight: this.inFlight,
    });
  }
}
