import type { Connection } from "../conn/types.js";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { validateStreamName } from "../stream/index.js";
import { resolveDeadLetterFilter } from "./filter.js";
import { checkOptionKeys } from "./options.js";
import {
  checkConn,
  dlqStreamInfo,
  isNoMessage,
  mapStreamError,
  refusedByStream,
  scanDeadLetters,
} from "./read.js";
import type { PurgeOptions, PurgeSummary } from "./types.js";

/**
 * Removes dead letters from `dlqStream`. Without a filter (or with an empty one): every letter up
 * to the stream's last sequence when the call starts, in one server-side purge (letters stored
 * meanwhile stay). With a filter: each matching letter is deleted by sequence, oldest first; an
 * abort (`signal`) stops between two deletions and resolves with `interrupted: true`. Asking for
 * confirmation is the caller's job (the CLI asks unless `--yes`): `throughSeq` bounds the purge
 * to the letters that were counted for it (those at or below that sequence).
 * @throws ErrStreamNotFound when `dlqStream` does not exist; ErrInvalidOption / ErrInvalidSubject
 *   for a bad filter, `throughSeq` or an unknown option key; ErrStreamOperationRefused when the
 *   stream has `deny_purge` (no filter) or `deny_delete` (a filter) set; the server's error when
 *   a deletion fails otherwise.
 * @example
 * const { purged } = await purgeDeadLetters(conn, "ORDERS_DLQ", { filter: { route: "billing" } });
 */
export async function purgeDeadLetters(
  conn: Connection,
  dlqStream: string,
  options: PurgeOptions = {},
): Promise<PurgeSummary> {
  checkConn(conn);
  validateStreamName(dlqStream);
  checkOptionKeys(options, "purgeDeadLetters");
  const filter = resolveDeadLetterFilter(options.filter);
  const through = checkThroughSeq(options);
  const { signal } = options;
  if (signal?.aborted) return { purged: 0, interrupted: true };
  const jsm = await conn.jetstreamManager();
  if (filter.empty) {
    const info = await dlqStreamInfo(jsm, dlqStream);
    const last = Math.min(info.state.last_seq, through);
    if (info.state.messages === 0 || last < info.state.first_seq) {
      return { purged: 0, interrupted: false };
    }
    try {
      // Up to, not including, `seq`: a letter stored after this call started (or after
      // `throughSeq`) is kept.
      const r = await jsm.streams.purge(dlqStream, { seq: last + 1 });
      return { purged: r.purged, interrupted: false };
    } catch (cause) {
      throw (
        refusedByStream(dlqStream, cause, "purge its dead letters") ??
        mapStreamError(dlqStream, cause)
      );
    }
  }
  let purged = 0;
  for await (const letter of scanDeadLetters(
    conn,
    dlqStream,
    filter,
    Number.POSITIVE_INFINITY,
    undefined,
  )) {
    // letters come oldest first: past the bound, none of the rest may go
    if (letter.seq > through) break;
    if (signal?.aborted) return { purged, interrupted: true };
    try {
      await jsm.streams.deleteMessage(dlqStream, letter.seq, false);
      purged++;
    } catch (cause) {
      if (isNoMessage(cause)) continue;
      throw (
        refusedByStream(dlqStream, cause, `delete dead letter ${letter.seq}`) ??
        mapStreamError(dlqStream, cause)
      );
    }
  }
  return { purged, interrupted: false };
}

/**
 * The bound, or no bound when the key is left out. Present but `undefined` (a failed lookup
 * passed on) is refused like an undefined filter field: it must not widen a purge to everything.
 */
function checkThroughSeq(options: { readonly throughSeq?: number }): number {
  const value: unknown = options.throughSeq;
  if (value === undefined && !Object.hasOwn(options, "throughSeq")) {
    return Number.POSITIVE_INFINITY;
  }
  if (value === undefined) {
    throw new ErrInvalidOption(
      "purgeDeadLetters throughSeq is undefined; leave the key out to purge up to the last letter",
    );
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new ErrInvalidOption(
      invalidValueMessage("purgeDeadLetters throughSeq", value, "an integer >= 1"),
    );
  }
  return value;
}
