import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type Duration, toMillis } from "../duration/index.js";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { toSchemaIssues } from "../schema/issues.js";
import { OUTCOME, type Outcome } from "./types.js";

/** The `ack` outcome, shared: it carries no per-message data. */
const ACK: Outcome = Object.freeze({ [OUTCOME]: true, kind: "ack" } as const);

const KINDS: ReadonlySet<unknown> = new Set(["ack", "retry", "reject"]);

/**
 * The message was handled: JetStream routes ack it, core routes do nothing more.
 * @example route("audit", async () => ack(), withStream("AUDIT"), withSubject("audit.>"))
 */
export function ack(): Outcome {
  return ACK;
}

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Delay before redelivery. @default the route's backoff for this delivery count */
  delay?: Duration;
}

/**
 * Ask for redelivery (JetStream `nak(delay)`); past `maxDeliver` the message is dead-lettered.
 * A bad `delay` throws ErrInvalidDuration, which the engine treats like any thrown error.
 * @example return retry({ delay: "5s" });
 */
export function retry(options: RetryOptions = {}): Outcome {
  const delayMs = options.delay === undefined ? undefined : toMillis(options.delay, "retry delay");
  return Object.freeze({ [OUTCOME]: true, kind: "retry", delayMs } as const);
}

/** Options of {@link reject}. */
export interface RejectOptions {
  /** The `Nats-Service-Error-Code` sent on request-reply routes. @default 500 */
  code?: number;
  /**
   * Validation issues that explain the rejection (Standard Schema issues, or jetroute's
   * `SchemaIssue`s). A dead letter carries them in `Jetroute-Schema-Issues`; a request-reply
   * route's error reply carries them in the same header and, complete, as its JSON body. An
   * empty list counts as none. `validated()` and `enveloped()` set them for you.
   * @default none
   */
  issues?: ReadonlyArray<StandardSchemaV1.Issue>;
}

/**
 * Give up on the message now: JetStream routes dead-letter (or terminate) it, request-reply
 * routes answer with a service error carrying `reason` and `code` (and `issues`, see
 * {@link RejectOptions}). Throws ErrInvalidOption when `issues` is not an array.
 * @example return reject("card declined", { code: 402 });
 */
export function reject(reason: string, options: RejectOptions = {}): Outcome {
  const { issues } = options;
  if (issues !== undefined && !Array.isArray(issues)) {
    throw new ErrInvalidOption(invalidValueMessage("reject issues", issues, "an array of issues"));
  }
  const base = {
    [OUTCOME]: true,
    kind: "reject",
    reason: String(reason),
    code: options.code ?? 500,
  } as const;
  if (issues === undefined || issues.length === 0) return Object.freeze(base);
  return Object.freeze({ ...base, issues: Object.freeze(toSchemaIssues(issues)) });
}

/** True for values built by `ack()`, `retry()` or `reject()`; a plain reply body never is. */
export function isOutcome(value: unknown): value is Outcome {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<PropertyKey, unknown>;
  return v[OUTCOME] === true && KINDS.has(v.kind);
}
