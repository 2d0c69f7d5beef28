import { type MsgHdrs, headers as natsHeaders } from "@nats-io/nats-core";
import type { Connection } from "../conn/types.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";

/** Headers jetroute adds to every dead letter, so it can be traced back and replayed. */
export const DeadLetterHeader = {
  OriginalSubject: "Jetroute-Original-Subject",
  Stream: "Jetroute-Stream",
  Sequence: "Jetroute-Sequence",
  DeliveryCount: "Jetroute-Delivery-Count",
  Error: "Jetroute-Error",
  Route: "Jetroute-Route",
  Time: "Jetroute-Time",
} as const;
export type DeadLetterHeader = (typeof DeadLetterHeader)[keyof typeof DeadLetterHeader];

/** What a dead letter is made from (the engine builds it from the delivered message). */
export interface DeadLetterSource {
  /** The original subject. */
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly stream: string;
  /** The stream sequence. */
  readonly seq: number;
  readonly deliveryCount: number;
}

/** What storing a dead letter came to. */
export type DeadLetterResult =
  /** The DLQ stream acknowledged it: terminate the original. */
  | { readonly kind: "stored"; readonly truncated: boolean }
  /** A transient failure: nak with backoff and try again on the next delivery. */
  | { readonly kind: "retry"; readonly error: unknown };

/** What dead-lettering needs from the engine. */
export interface DeadLetterDeps {
  readonly conn: Connection;
  readonly spec: JetStreamRouteSpec;
  readonly logger: Logger;
}

/** True when the server understands `+TERM <reason>` (2.10.4 and later). */
export function supportsTermReason(version: readonly [number, number, number]): boolean {
  const [major, minor, patch] = version;
  if (major !== 2) return major > 2;
  if (minor !== 10) return minor > 10;
  return patch >= 4;
}

/**
 * The dead letter's headers: the original ones, minus `Nats-*` server directives (an
 * `Nats-Expected-Last-Sequence` copied over would make the DLQ publish fail; `Nats-Msg-Id` is
 * replaced by ours), plus the `Jetroute-*` trace headers.
 */
export function deadLetterHeaders(
  m: DeadLetterSource,
  spec: JetStreamRouteSpec,
  reason: string,
): MsgHdrs {
  const h = natsHeaders();
  if (m.headers) {
    for (const [key, values] of m.headers) {
      if (key.toLowerCase().startsWith("nats-")) continue;
      for (const v of values) h.append(key, v);
    }
  }
  h.set(DeadLetterHeader.OriginalSubject, m.subject);
  h.set(DeadLetterHeader.Stream, m.stream);
  h.set(DeadLetterHeader.Sequence, String(m.seq));
  h.set(DeadLetterHeader.DeliveryCount, String(m.deliveryCount));
  // Header values are one line; a multi-line error message would corrupt the frame.
  h.set(DeadLetterHeader.Error, reason.replace(/[\r\n]+/g, " "));
  h.set(DeadLetterHeader.Route, spec.name);
  h.set(DeadLetterHeader.Time, new Date().toISOString());
  return h;
}

/**
 * Publishes a dead letter to the route's DLQ (msgID `stream:seq`, so a re-run after a crash never
 * stores it twice) and waits for the PubAck. Never throws: a failed publish is `retry`.
 */
export async function storeDeadLetter(
  m: DeadLetterSource,
  reason: string,
  deps: DeadLetterDeps,
): Promise<DeadLetterResult> {
  const { spec } = deps;
  if (spec.dlq === undefined) return { kind: "stored", truncated: false };
  try {
    await deps.conn.jetstream.publish(spec.dlq, m.data, {
      msgID: `${m.stream}:${m.seq}`,
      headers: deadLetterHeaders(m, spec, reason),
    });
    return { kind: "stored", truncated: false };
  } catch (error) {
    return { kind: "retry", error };
  }
}
