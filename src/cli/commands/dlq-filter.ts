// The dead-letter filter flags shared by `dlq ls`, `redrive` and `purge`, and the count of what
// they match.
import type { Connection } from "../../conn/index.js";
import { type DeadLetterFilter, listDeadLetters } from "../api.js";
import { UsageError } from "../exit.js";
import { toFailure } from "../failures.js";
import { checkSubjectFlag, parseTimeFlag } from "../parse.js";

/** The filter flags shared by ls, redrive and purge. */
export interface FilterFlags {
  route?: string;
  durable?: string;
  subject?: string;
  reason?: string;
  since?: string;
  before?: string;
}

/** Only the flags given become filter fields: a filter with none purges everything. */
export function parseFilter(flags: FilterFlags, now = new Date()): DeadLetterFilter {
  const filter: { -readonly [K in keyof DeadLetterFilter]: DeadLetterFilter[K] } = {};
  if (flags.route !== undefined) filter.route = flags.route;
  if (flags.durable !== undefined) filter.durable = flags.durable;
  if (flags.subject !== undefined)
    filter.subject = checkSubjectFlag("--subject", flags.subject, true);
  if (flags.reason !== undefined) filter.reason = flags.reason;
  if (flags.since !== undefined) filter.since = parseTimeFlag("--since", flags.since, now);
  if (flags.before !== undefined) filter.before = parseTimeFlag("--before", flags.before, now);
  if (filter.since && filter.before && filter.since >= filter.before) {
    throw new UsageError(
      `--since must be earlier than --before, got --since ${flags.since} --before ${flags.before}`,
    );
  }
  return filter;
}

/** The filter as the user typed it, for messages: `--route charge --since 2h`. */
export function describeFilter(flags: FilterFlags): string {
  const parts = (["route", "durable", "subject", "reason", "since", "before"] as const)
    .filter((k) => flags[k] !== undefined)
    .map((k) => `--${k} ${flags[k]}`);
  return parts.length === 0 ? "(no filter)" : parts.join(" ");
}

/** How many letters match: for a progress bar's total and the purge confirmation. */
export async function countMatching(
  conn: Connection,
  stream: string,
  filter: DeadLetterFilter,
): Promise<number> {
  try {
    return (await listDeadLetters(conn, stream, { filter })).length;
  } catch (err) {
    throw toFailure(err, { stream });
  }
}
