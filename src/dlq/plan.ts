import type { JetStreamManager } from "@nats-io/jetstream";
import { REPLAY_DURABLE_SUFFIX, RedriveHeader } from "../consumer/dead-letter-headers.js";
import { validatePublishSubject } from "../subject/index.js";
import { originalHeaders } from "./decode.js";
import type { DeadLetter, RedriveFailure, RedrivePlan } from "./types.js";

/**
 * The `Nats-Msg-Id` a redrive publishes dead letter `seq` of `dlqStream` to `subject` with:
 * `redrive:<dlqStream>:<seq>:<subject>`. The same letter sent to the same subject always gets
 * the same id, so the target stream stores it once however often that redrive is re-run (within
 * the stream's duplicate window); sent to another subject (`to`, after one to the wrong subject
 * with `keep`) it is a new message, not a duplicate of the first. Subjects and stream names have
 * no whitespace or control characters, so the id is a valid header value.
 * @example redriveMsgId("ORDERS_DLQ", 42, "orders.created") // "redrive:ORDERS_DLQ:42:orders.created"
 */
export function redriveMsgId(dlqStream: string, seq: number, subject: string): string {
  return `redrive:${dlqStream}:${seq}:${subject}`;
}

/** What would be sent for `letter`, or why it cannot be. */
export async function planRedrive(
  jsm: JetStreamManager,
  dlqStream: string,
  letter: DeadLetter,
  to: string | undefined,
  hasStream: (subject: string) => Promise<boolean>,
  allConsumers = false,
): Promise<RedrivePlan | RedriveFailure> {
  const { seq } = letter;
  const subject = to ?? letter.originalSubject;
  if (subject === undefined || !isPublishSubject(subject)) {
    return {
      seq,
      kind: "no-subject",
      reason: `dead letter ${seq} has no valid Jetroute-Original-Subject (${JSON.stringify(letter.originalSubject ?? null)}); redrive it with \`to\``,
    };
  }
  let data = letter.data;
  let headers = letter.headers;
  let fromOriginal = false;
  if (letter.payloadTruncated !== undefined || letter.headersDropped !== undefined) {
    const original = await fetchOriginal(jsm, letter);
    if (original === undefined) {
      return {
        seq,
        kind: "payload-missing",
        reason: `dead letter ${seq} was stored without its payload (${letter.payloadTruncated ?? "?"} bytes) and the original ${letter.stream ?? "?"}:${letter.sequence ?? "?"} is no longer in its stream; it is not redriven with an empty payload`,
      };
    }
    data = original.data;
    headers = original.headers;
    fromOriginal = true;
  }
  if (!(await hasStream(subject))) {
    return {
      seq,
      kind: "no-stream",
      reason: `no stream stores "${subject}" (dead letter ${seq}); create one, or redrive it with \`to\``,
    };
  }
  const record: Record<string, string[]> = {};
  for (const [k, values] of headers) record[k] = [...values];
  record[RedriveHeader.RedrivenFrom] = [`${dlqStream}:${seq}`];
  delete record[RedriveHeader.RedriveDurable];
  const durable = letter.durable?.endsWith(REPLAY_DURABLE_SUFFIX)
    ? letter.durable.slice(0, -REPLAY_DURABLE_SUFFIX.length)
    : letter.durable;
  // With `to` the operator chose where it goes (a retry subject, another consumer): no target.
  if (!allConsumers && to === undefined && durable !== undefined && durable !== "") {
    record[RedriveHeader.RedriveDurable] = [durable];
  }
  return {
    seq,
    subject,
    msgId: redriveMsgId(dlqStream, seq, subject),
    headers: record,
    data,
    fromOriginal,
  };
}

/** The original of a letter stored without its payload, when its stream still has it. */
async function fetchOriginal(
  jsm: JetStreamManager,
  letter: DeadLetter,
): Promise<{ data: Uint8Array; headers: ReadonlyMap<string, readonly string[]> } | undefined> {
  if (letter.stream === undefined || letter.sequence === undefined) return undefined;
  try {
    const m = await jsm.streams.getMessage(letter.stream, { seq: letter.sequence });
    // A stream created again under the same name reuses sequences: the subject must agree.
    if (m === null || m.subject !== letter.originalSubject) return undefined;
    return { data: m.data, headers: originalHeaders(m.header) };
  } catch {
    return undefined;
  }
}

function isPublishSubject(subject: string): boolean {
  try {
    validatePublishSubject(subject);
    return true;
  } catch {
    return false;
  }
}
