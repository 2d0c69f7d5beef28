import { ErrorCode } from "./codes.js";
import { describeValue, JetrouteError } from "./errors.js";

/** One consumer setting a route cannot run with, and what the user can do about it. */
export interface ConsumerConflict {
  /** The consumer config field, as the JetStream API names it (`ack_policy`, `filter_subject`...). */
  readonly field: string;
  /** The durable's value. */
  readonly current: unknown;
  /** What the route needs. */
  readonly wanted: unknown;
  /** Why the route cannot run with the current value. */
  readonly why: string;
  /** The way out when it is not the usual one (a new durable, or a re-create). */
  readonly fix?: string;
}

function usualFix(stream: string, durable: string): string {
  return (
    `consume with a new durable (withDurable), or let the route delete and re-create this one ` +
    `with withOnConsumerConflict("recreate") (its ack state is lost: stored messages are ` +
    `delivered again), or delete it yourself (nats consumer rm ${stream} ${durable})`
  );
}

/**
 * An existing durable consumer has a setting the route cannot run with and cannot change in
 * place (immutable, or an update that would skip or strand messages). Raised when the route
 * starts, before a message is pulled. `conflicts` lists every such field; the message names the
 * first, both values, and the two ways out: a new durable (withDurable), or
 * `withOnConsumerConflict("recreate")` to delete and re-create this one.
 */
export class ErrConsumerConfigConflict extends JetrouteError<
  typeof ErrorCode.ConsumerConfigConflict
> {
  readonly route: string;
  readonly stream: string;
  readonly durable: string;
  readonly conflicts: readonly ConsumerConflict[];
  /** The first conflict's field. */
  readonly field: string;
  constructor(
    route: string,
    stream: string,
    durable: string,
    conflicts: readonly [ConsumerConflict, ...ConsumerConflict[]],
    options?: ErrorOptions,
  ) {
    const [first, ...rest] = conflicts;
    const also = rest.length === 0 ? "" : ` (also: ${rest.map((c) => c.field).join(", ")})`;
    super(
      ErrorCode.ConsumerConfigConflict,
      `durable "${durable}" on stream "${stream}" conflicts with route "${route}": ` +
        `${first.field} is ${describeValue(first.current)}, the route needs ${describeValue(first.wanted)} ` +
        `(${first.why})${also}. Fix: ${first.fix ?? usualFix(stream, durable)}`,
      options,
    );
    this.route = route;
    this.stream = stream;
    this.durable = durable;
    this.conflicts = conflicts;
    this.field = first.field;
  }
}
