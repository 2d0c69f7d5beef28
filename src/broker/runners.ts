import { match, P } from "ts-pattern";
import { jetStreamRunner } from "../consumer/index.js";
import { coreRunner } from "../core/index.js";
import type { RouteSpec } from "../router/types.js";
import type { RouteRunner } from "./types.js";

/** The runner for a validated route, by kind; a new kind fails to compile until it is handled here. */
export function runnerFor(spec: RouteSpec): RouteRunner {
  return match(spec)
    .with({ kind: "jetstream" }, (s) => jetStreamRunner(s))
    .with({ kind: P.union("request", "queue", "fanout") }, (s) => coreRunner(s))
    .exhaustive();
}
