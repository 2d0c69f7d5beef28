import type { RouteRunContext, RouteRunner } from "../broker/types.js";
import { InboxCounter } from "../inbox/stats.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { JetStreamEngine } from "./engine.js";
import { ReplayGuard } from "./replay-guard.js";
import { type JetStreamRouteStats, StatsCounter } from "./stats.js";

/** A JetStream route runner; `stats()` reads its counters at any time, during or after a run. */
export interface JetStreamRouteRunner extends RouteRunner {
  readonly spec: JetStreamRouteSpec;
  stats(): JetStreamRouteStats;
}

/**
 * The runner of a JetStream route: provisions the durable pull consumer, pulls at most
 * `concurrency + prefetch` messages (plus up to `concurrency` whose dead letter is being
 * stored), runs at most `concurrency` handlers, settles each message from its handler's result
 * (see `decideSettlement`), recreates a lost consumer, and drains on shutdown.
 * @example
 * const runner = jetStreamRunner(buildRouteSpec(route("charge", handler, withStream("ORDERS"))) as JetStreamRouteSpec);
 * await runner.run(ctx);
 */
export function jetStreamRunner(spec: JetStreamRouteSpec): JetStreamRouteRunner {
  // The guard outlives one run: a second run of the same runner still skips replays.
  const guard = new ReplayGuard();
  const counter = new StatsCounter(
    guard,
    spec.inbox === undefined ? undefined : new InboxCounter(),
  );
  return Object.freeze({
    spec,
    stats: () => counter.snapshot(),
    probe: () => {
      const { condition, inFlight, buffered } = counter.probe();
      return { condition, inFlight, held: inFlight + buffered, consumer: counter.lag };
    },
    run: (ctx: RouteRunContext) => new JetStreamEngine(spec, ctx, counter, guard).run(),
  });
}
