// The shapes of the dead-letter operations: a decoded letter, the filter, each operation's
// options and what it returns.

import type { SchemaIssue } from "../schema/issues.js";

/**
 * One dead letter read back from a DLQ stream, its `Jetroute-*` headers decoded
 * (see `DeadLetterHeader`). Fields the letter does not carry (a letter written by something
 * else, an older jetroute) are `undefined`, and `problems` says what is missing or unreadable.
 */
export interface DeadLetter {
  /** The letter's sequence in the DLQ stream: what `getDeadLetter` and the redrive id use. */
  readonly seq: number;
  /** The DLQ subject it was stored on (the route's `withDLQ` subject). */
  readonly subject: string;
  /** When the DLQ stream stored it (the server's timestamp; what `since` / `before` filter on). */
  readonly storedAt: Date;
  /** `Jetroute-Original-Subject`: where the original was published; where a redrive sends it. */
  readonly originalSubject: string | undefined;
  /** `Jetroute-Stream`: the stream the original came from. */
  readonly stream: string | undefined;
  /** `Jetroute-Sequence`: the original's sequence in that stream. */
  readonly sequence: number | undefined;
  /** `Jetroute-Delivery-Count`: deliveries when the route gave up. */
  readonly deliveryCount: number | undefined;
  /** `Jetroute-Error`: the reject reason or error text. */
  readonly error: string | undefined;
  /** `Jetroute-Route`: the route that gave up. */
  readonly route: string | undefined;
  /** `Jetroute-Durable`: the durable consumer that gave up. */
  readonly durable: string | undefined;
  /** `Jetroute-Time`: when the route dead-lettered it (the client's clock). */
  readonly time: Date | undefined;
  /**
   * `Jetroute-Payload-Truncated`: set when the payload was left out because it was too large;
   * the original payload's size in bytes (`data` is then empty).
   */
  readonly payloadTruncated: number | undefined;
  /** `Jetroute-Headers-Dropped`: how many original header fields were left out too. */
  readonly headersDropped: number | undefined;
  /**
   * `Jetroute-Schema-Issues`: why the payload was invalid, when it failed its route's schema
   * (`validated()`) or was a malformed envelope (`enveloped()`), or a handler rejected it with
   * `issues`. Messages longer than 256 characters were shortened when stored.
   */
  readonly schemaIssues: readonly SchemaIssue[] | undefined;
  /** `Jetroute-Schema-Issues-Omitted`: issues that did not fit in the header (2048 characters). */
  readonly schemaIssuesOmitted: number | undefined;
  /**
   * `Jetroute-Redriven-From` of the original: `<dlqStream>:<seq>` when the message that failed
   * was itself a redrive of an earlier dead letter.
   */
  readonly redrivenFrom: string | undefined;
  /** The letter's own `Nats-Msg-Id` (jetroute writes `<stream>:<seq>:<durable>`). */
  readonly msgId: string | undefined;
  /** The original's headers: everything except `Jetroute-*` and `Nats-*`. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** The original payload (empty when `payloadTruncated` is set). */
  readonly data: Uint8Array;
  /**
   * What is missing or unreadable, one sentence each (`"no Jetroute-Original-Subject header"`).
   * Empty for a well-formed letter. Decoding never throws.
   */
  readonly problems: readonly string[];
}

/**
 * Which dead letters an operation applies to. Every field is optional and they combine with AND;
 * an empty filter matches every letter. Validated once when the operation starts: a bad value,
 * an unknown field or a field set to `undefined` (`{ route: process.env.UNSET }`: leave the key
 * out to match every route) throws ErrInvalidOption (ErrInvalidSubject for `subject`) naming it.
 */
export interface DeadLetterFilter {
  /** `Jetroute-Route` equals this. */
  readonly route?: string;
  /** `Jetroute-Durable` equals this. */
  readonly durable?: string;
  /** `Jetroute-Original-Subject` matches this NATS subject filter (`*` and `>` allowed). */
  readonly subject?: string;
  /** `Jetroute-Error` contains this text (case-insensitive), or matches this RegExp. */
  readonly reason?: string | RegExp;
  /**
   * Stored at or after this time: a `Date`, an ISO 8601 time (`"2026-11-30T08:00:00Z"`) or a
   * duration back from now (`"90s"`, `"15m"`, `"2h"`, `"7d"`), resolved when the operation starts.
   * A time in the future is allowed (it matches no letter yet).
   */
  readonly since?: Date | string;
  /**
   * Stored before this time; same forms as `since` (`"1d"`: letters older than a day). A time
   * in the future matches every letter stored so far.
   */
  readonly before?: Date | string;
}

/**
 * Options shared by every operation. A key an operation does not know (`filters`, `Filter`)
 * throws ErrInvalidOption naming it: it is never ignored.
 */
export interface DeadLetterScanOptions {
  /** Which letters. @default every letter */
  readonly filter?: DeadLetterFilter;
  /**
   * Stops the operation. Listing rejects with `signal.reason`; redrive and purge stop between
   * two letters (never between a publish and its removal) and resolve with `interrupted: true`.
   */
  readonly signal?: AbortSignal;
}

/** Options of `purgeDeadLetters`. */
export interface PurgeOptions extends DeadLetterScanOptions {
  /**
   * Purge only letters with a sequence at or below this one (an integer >= 1), e.g. the DLQ
   * stream's last sequence when the letters were counted for a confirmation: letters stored
   * since are kept, so a purge never removes more than was confirmed.
   * @default the stream's last sequence when the purge starts
   * @example purgeDeadLetters(conn, "ORDERS_DLQ", { throughSeq: info.state.last_seq })
   */
  readonly throughSeq?: number;
}

/** Options of `listDeadLetters` / `iterateDeadLetters`. */
export interface ListDeadLettersOptions extends DeadLetterScanOptions {
  /** At most this many letters (those with the lowest sequences). @default no limit */
  readonly limit?: number;
}

/** Options of `redriveDeadLetters`. */
export interface RedriveOptions extends DeadLetterScanOptions {
  /**
   * Publish every letter here instead of its `Jetroute-Original-Subject` (a literal subject).
   * @default each letter's original subject
   */
  readonly to?: string;
  /** Publish nothing and remove nothing; the summary's `planned` lists what would be sent. @default false */
  readonly dryRun?: boolean;
  /** Leave each letter in the DLQ after its publish is acked. @default false (removed) */
  readonly keep?: boolean;
  /**
   * Let every consumer of the subject run the redriven message. By default it carries
   * `Jetroute-Redrive-Durable: <the letter's durable>` and jetroute routes on other durables
   * ack it without running their handler (other consumers, not jetroute's, still get it).
   * A redrive `to` another subject never carries it: whoever consumes that subject runs it.
   * @default false
   */
  readonly allConsumers?: boolean;
  /** At most this many letters (those with the lowest sequences). @default no limit */
  readonly limit?: number;
  /** Called after each letter with what happened to it (a throw is ignored). @default none */
  readonly onProgress?: (event: RedriveEvent) => void;
}

/** What happened to one letter during a redrive. */
export type RedriveEvent =
  | {
      readonly kind: "published";
      readonly seq: number;
      readonly subject: string;
      readonly removed: boolean;
    }
  | {
      readonly kind: "duplicate";
      readonly seq: number;
      readonly subject: string;
      readonly removed: boolean;
    }
  | { readonly kind: "planned"; readonly plan: RedrivePlan }
  | { readonly kind: "failed"; readonly failure: RedriveFailure };

/** One message a redrive sends (or, in a dry run, would send). */
export interface RedrivePlan {
  /** The dead letter's DLQ sequence. */
  readonly seq: number;
  readonly subject: string;
  /** `Nats-Msg-Id`: `redrive:<dlqStream>:<seq>:<subject>` (see `redriveMsgId`). */
  readonly msgId: string;
  /** Headers sent: the original's (no `Jetroute-*`, no `Nats-*`) plus `Jetroute-Redriven-From`. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly data: Uint8Array;
  /** True when the payload was read from the original stream (the letter's was left out). */
  readonly fromOriginal: boolean;
}

/**
 * Why a letter was not redriven (or, with `kind: "remove"`, was published but is still in the
 * DLQ; a re-run publishes it once more only after the target stream's duplicate window).
 * - `no-subject`: the letter has no `Jetroute-Original-Subject` (or an invalid one) and no `to`;
 * - `payload-missing`: stored without its payload, and the original is gone from its stream;
 * - `no-stream`: no stream stores the subject it would go to;
 * - `publish`: the publish failed (after the producer's retries);
 * - `remove`: published, but removing it from the DLQ failed.
 */
export interface RedriveFailure {
  readonly seq: number;
  readonly kind: "no-subject" | "payload-missing" | "no-stream" | "publish" | "remove";
  /** One line for people: what went wrong and what to do. */
  readonly reason: string;
  /** The underlying error, when there is one. */
  readonly cause?: unknown;
}

/** What `redriveDeadLetters` did. `matched = published + duplicates + failed` (minus removal failures). */
export interface RedriveSummary {
  /** Letters the filter matched (and were looked at before an interruption). */
  readonly matched: number;
  /** Newly stored in their target stream. */
  readonly published: number;
  /** Acked as duplicates: an earlier run (within the duplicate window) already published them. */
  readonly duplicates: number;
  /** Removed from the DLQ after their publish was acked. */
  readonly removed: number;
  /** Published (or duplicate) and left in the DLQ because of `keep`. */
  readonly kept: number;
  readonly failed: readonly RedriveFailure[];
  /** Dry run only: what would be sent, in sequence order. */
  readonly planned?: readonly RedrivePlan[];
  /** True when `signal` stopped the run before every matched letter was handled. */
  readonly interrupted: boolean;
}

/** What `purgeDeadLetters` did. */
export interface PurgeSummary {
  /** Letters removed from the DLQ stream. */
  readonly purged: number;
  /** True when `signal` stopped a filtered purge before its end. */
  readonly interrupted: boolean;
}
