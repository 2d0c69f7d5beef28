import type { Connection } from "../conn/types.js";
import { ErrDeadLetterFailed } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import type { SchemaIssue } from "../schema/issues.js";
import {
  classifyDeadLetterFailure,
  type DeadLetterFailureKind,
  dlqStreamExists,
  originalOutlivesTerm,
} from "./dead-letter-failure.js";
import {
  type DeadLetterFit,
  type DeadLetterSource,
  deadLetterHeaders,
  deadLetterMsgId,
} from "./dead-letter-headers.js";

export {
  DeadLetterHeader,
  type DeadLetterSource,
  deadLetterHeaders,
  deadLetterMsgId,
} from "./dead-letter-headers.js";

/** What storing a dead letter came to; the caller settles the original accordingly. */
export type DeadLetterResult =
  /** PubAck received (or a duplicate of one already stored): terminate the original. */
  | { readonly kind: "stored"; readonly truncated: boolean }
  /** Transient failure: nak with backoff and try again on the next delivery. */
  | { readonly kind: "retry"; readonly error: unknown }
  /** Permanent, nothing could be stored: keep the original (nak) and fail the route loudly. */
  | { readonly kind: "failed"; readonly error: ErrDeadLetterFailed };

/** What storing a dead letter needs. */
export interface StoreDeadLetterDeps {
  readonly conn: Connection;
  readonly spec: JetStreamRouteSpec;
  readonly logger: Logger;
}

const EMPTY = new Uint8Array(0);

/**
 * Publishes the dead letter of `source` to the route's DLQ subject and waits for the PubAck
 * (msgID `<stream>:<seq>:<durable>`, see `deadLetterMsgId`). Never throws, never loops:
 * - stored whole: `{ kind: "stored", truncated: false }`;
 * - too large (server `max_payload`, DLQ stream `max_msg_size`): stored without its payload,
 *   then also without the original headers, each saying so in a header
 *   (`Jetroute-Payload-Truncated: <bytes>`, `Jetroute-Headers-Dropped: <count>`): `truncated: true`.
 *   Only from a limits-retention stream, where the original outlives `term()` and can be
 *   fetched by `Jetroute-Stream` / `Jetroute-Sequence`; from a work-queue or interest stream
 *   (term deletes it) the result is `failed` instead, so the payload is never lost;
 * - transient failure: `retry`;
 * - no stream for the DLQ subject, no permission, too large even bare, or no DLQ on the route:
 *   `failed` with ErrDeadLetterFailed naming route, DLQ subject, `stream:seq` and the fix.
 *
 * `issues` (a payload that failed its schema) go in `Jetroute-Schema-Issues`, in every fit.
 */
export async function storeDeadLetter(
  source: DeadLetterSource,
  reason: string,
  deps: StoreDeadLetterDeps,
  issues?: readonly SchemaIssue[],
): Promise<DeadLetterResult> {
  const { conn, spec, logger } = deps;
  const dlq = spec.dlq;
  if (dlq === undefined) {
    return { kind: "failed", error: failure(spec, source, "", "give the route a DLQ (withDLQ)") };
  }
  const msgID = deadLetterMsgId(source, spec);
  let tooLarge: unknown;
  for (const fit of FITS) {
    // With no payload to leave out, `noPayload` is `whole` again.
    if (fit === "noPayload" && source.data.length === 0) continue;
    try {
      await conn.jetstream.publish(dlq, fit === "whole" ? source.data : EMPTY, {
        msgID,
        headers: deadLetterHeaders(source, spec, reason, fit, issues),
      });
    } catch (err) {
      const kind = await classifyDeadLetterFailure(err, () => dlqStreamExists(conn, dlq));
      if (kind === "tooLarge") {
        tooLarge = err;
        if (fit === "whole") {
          // A letter without the payload is only safe when the original can still be fetched.
          const kept = await originalOutlivesTerm(conn, source.stream);
          if (kept === undefined) return { kind: "retry", error: err };
          if (!kept) {
            const fix = `${fixFor("tooLarge", dlq)} (stream "${source.stream}" deletes a terminated message, so its payload cannot be left out)`;
            return { kind: "failed", error: failure(spec, source, dlq, fix, err) };
          }
        }
        logger.debug({ err, dlq, fit }, "dead letter too large; trying a smaller one");
        continue;
      }
      if (kind === "transient") return { kind: "retry", error: err };
      return { kind: "failed", error: failure(spec, source, dlq, fixFor(kind, dlq), err) };
    }
    if (fit !== "whole") {
      logger.warn(
        { dlq, fit, payloadBytes: source.data.length, stream: source.stream, seq: source.seq },
        "dead letter too large; stored without its payload (fetch the original by stream and sequence)",
      );
    }
    return { kind: "stored", truncated: fit !== "whole" };
  }
  const fix = `${fixFor("tooLarge", dlq)}: even without payload and headers the dead letter does not fit`;
  return { kind: "failed", error: failure(spec, source, dlq, fix, tooLarge) };
}

const FITS: readonly DeadLetterFit[] = ["whole", "noPayload", "bare"];

function fixFor(kind: Exclude<DeadLetterFailureKind, "transient">, dlq: string): string {
  switch (kind) {
    case "noStream":
      return `create a stream storing "${dlq}"`;
    case "permission":
      return `allow this connection to publish to "${dlq}"`;
    case "tooLarge":
      return `raise max_msg_size of the stream storing "${dlq}" or the server's max_payload`;
    case "full":
      return `the stream storing "${dlq}" is full and discards new messages: raise its limits or remove dead letters`;
  }
}

function failure(
  spec: JetStreamRouteSpec,
  source: DeadLetterSource,
  dlq: string,
  fix: string,
  cause?: unknown,
): ErrDeadLetterFailed {
  return new ErrDeadLetterFailed(
    { route: spec.name, dlq, stream: source.stream, seq: source.seq, fix },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * True when the server understands `+TERM <reason>`: 2.10.4 and later. nats-server parses a
 * reason after `+TERM` (`bytes.HasPrefix(msg, AckTerm)` in `processAck`, server/consumer.go) and
 * puts it in the `MSG_TERMINATED` advisory since commit c7a1445 ("Extend the term advisory with a
 * reason"), first tagged v2.10.4. Before it the body had to equal `+TERM` exactly, so a term
 * with a reason matched no case and was ignored: the message came back after ack wait (measured
 * on 2.9.10; honoured on 2.10.27 and 2.15.1). nats.js documents 2.11, which is only conservative.
 * See docs/internals.md, "Terminating with a reason".
 */
export function supportsTermReason(version: readonly [number, number, number]): boolean {
  const [major, minor, patch] = version;
  if (major !== 2) return major > 2;
  if (minor !== 10) return minor > 10;
  return patch >= 4;
}
