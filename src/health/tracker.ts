import { findJetrouteError } from "../errors/index.js";
import type { RouteError, RouteHealth, RouteState } from "./types.js";

/** What a running route tells `health()` besides its lifecycle (RouteRunner.probe). */
export interface RouteProbe {
  /** Engine trouble while the broker has it running: `ok`, `stalled` or `recovering`. */
  readonly condition: "ok" | "stalled" | "recovering";
  readonly inFlight: number;
  readonly held: number | undefined;
  readonly consumer: RouteHealth["consumer"];
}

/** The states a route leaves only by an explicit step (no `running` overlay applies to them). */
const FINAL: ReadonlySet<RouteState> = new Set(["stopped", "failed"]);

/**
 * One route's lifecycle as the broker sees it: the state it entered last, since when, and the
 * last error (handler failure or route failure). The engine's own trouble (`stalled`,
 * `recovering`) is read from its probe at `snapshot` time, over a `running` route only.
 */
export class RouteTracker {
  #state: RouteState = "idle";
  #since = new Date();
  #lastError: RouteError | undefined;

  get state(): RouteState {
    return this.#state;
  }

  /** Moves to `state`; a stopped or failed route stays so until it is run again (`starting`). */
  enter(state: RouteState): void {
    if (FINAL.has(this.#state) && state !== "starting") return;
    if (this.#state === state) return;
    this.#state = state;
    this.#since = new Date();
  }

  /** Records an error the route met (a handler failure, or what failed it). */
  error(err: unknown): void {
    this.#lastError = {
      message: err instanceof Error ? err.message : String(err),
      code: findJetrouteError(err)?.code,
      at: new Date(),
    };
  }

  snapshot(kind: RouteHealth["kind"], probe: RouteProbe): RouteHealth {
    const state =
      this.#state === "running" && probe.condition !== "ok" ? probe.condition : this.#state;
    return Object.freeze({
      kind,
      state,
      since: this.#since,
      lastError: this.#lastError,
      inFlight: probe.inFlight,
      held: probe.held,
      consumer: probe.consumer,
    });
  }
}
