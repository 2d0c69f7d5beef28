import type { AttachmentHandle, BrokerAttachment, BrokerView } from "../broker/attachment.js";
import type { Connection } from "../conn/types.js";
import type { BrokerHealth } from "../health/index.js";
import type {
  Instrument,
  MessageObservation,
  MessageOutcome,
  RouteObserver,
} from "../observe/index.js";
import type { RouteSpec } from "../router/types.js";
import type { Buckets } from "./histogram.js";
import type { MetricSet, MetricsSource, RouteCounts } from "./metric-set.js";

const JETSTREAM_OUTCOMES = ["acked", "retried", "dead_lettered", "released", "abandoned"] as const;
const CORE_OUTCOMES = ["ok", "error"] as const;

type Child = Buckets;

/** A core route's outcomes (JetStream routes' are in their stats, counted by the settler). */
interface CoreOutcomes {
  ok: number;
  error: number;
}

/**
 * One broker's metrics: an Instrument (each handled message's duration into the histogram,
 * core outcomes counted) and a BrokerAttachment (the broker's numbers are scraped while it runs).
 */
export class BrokerMetrics implements Instrument, BrokerAttachment {
  readonly name = "metrics";
  readonly #set: MetricSet;
  readonly #core = new Map<string, CoreOutcomes>();

  constructor(set: MetricSet) {
    this.#set = set;
  }

  route(spec: RouteSpec): RouteObserver {
    const stream = streamOf(spec);
    const children: Partial<Record<MessageOutcome, Child>> = {};
    const outcomes = spec.kind === "jetstream" ? JETSTREAM_OUTCOMES : CORE_OUTCOMES;
    for (const outcome of outcomes) {
      children[outcome] = this.#set.handlerDuration.child({ route: spec.name, stream, outcome });
    }
    let core: CoreOutcomes | undefined;
    if (spec.kind !== "jetstream") {
      core = this.#core.get(spec.name) ?? { ok: 0, error: 0 };
      this.#core.set(spec.name, core);
    }
    return new RouteTiming(children, core);
  }

  async start(view: BrokerView): Promise<AttachmentHandle> {
    const source = new BrokerSource(view, this.#core);
    this.#set.attach(source);
    return {
      stop: async () => {
        this.#set.detach(source);
      },
    };
  }
}

/** Reads a running broker for a scrape. */
class BrokerSource implements MetricsSource {
  readonly conn: Connection;
  readonly #view: BrokerView;
  readonly #core: ReadonlyMap<string, CoreOutcomes>;
  readonly #streams: ReadonlyMap<string, string>;

  constructor(view: BrokerView, core: ReadonlyMap<string, CoreOutcomes>) {
    this.conn = view.conn;
    this.#view = view;
    this.#core = core;
    this.#streams = new Map(view.routes().map((s) => [s.name, streamOf(s)]));
  }

  health(): Promise<BrokerHealth> {
    return this.#view.health();
  }

  streamOf(route: string): string {
    return this.#streams.get(route) ?? "";
  }

  counts(): readonly RouteCounts[] {
    return Object.entries(this.#view.stats()).map(([route, s]): RouteCounts => {
      const stream = this.streamOf(route);
      if ("held" in s) {
        // Every delivery ends in exactly one of these, so once nothing is held they add up to
        // `received`: skipped ones were acked (a replay, a redrive for another durable) or
        // ignored (a second copy of a message still running) without running the handler, or
        // the inbox found its key processed.
        const settled = {
          acked: s.acked,
          retried: s.nakd,
          dead_lettered: s.deadLettered,
          released: s.released,
          skipped:
            s.replaysSkipped + s.duplicatesSkipped + s.redrivesSkipped + (s.inbox?.duplicates ?? 0),
          abandoned: s.abandoned,
        };
        return { route, stream, received: s.received, settled };
      }
      const core = this.#core.get(route) ?? { ok: 0, error: 0 };
      // dropped: shed at overload (a request got a 503) or a request with no reply subject.
      const settled = { ok: core.ok, error: core.error, dropped: s.dropped + s.noReply };
      return { route, stream, received: s.received, settled };
    });
  }
}

/** Times each message of one route; no label lookups per message (children resolved once). */
class RouteTiming implements RouteObserver {
  readonly children: Partial<Record<MessageOutcome, Child>>;
  readonly core: CoreOutcomes | undefined;

  constructor(children: Partial<Record<MessageOutcome, Child>>, core: CoreOutcomes | undefined) {
    this.children = children;
    this.core = core;
  }

  begin(): MessageObservation {
    return new Timing(this, performance.now());
  }
}

class Timing implements MessageObservation {
  readonly #route: RouteTiming;
  readonly #start: number;
  #end = 0;

  constructor(route: RouteTiming, start: number) {
    this.#route = route;
    this.#start = start;
  }

  within<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B): R {
    return fn(a, b);
  }

  handled(): void {
    this.#end = performance.now();
  }

  settled(outcome: MessageOutcome): void {
    // Only a handler that ran has a duration (a message dead-lettered unhandled has none).
    if (this.#end !== 0) this.#route.children[outcome]?.observe((this.#end - this.#start) / 1000);
    const core = this.#route.core;
    if (core === undefined) return;
    if (outcome === "ok") core.ok++;
    else if (outcome === "error") core.error++;
  }
}

function streamOf(spec: RouteSpec): string {
  return spec.kind === "jetstream" ? spec.stream : "";
}
