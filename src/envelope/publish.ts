import { headers as natsHeaders } from "@nats-io/nats-core";
import { toMsgHdrs } from "../producer/headers.js";
import type { JetStreamPublishOptions, Producer, PublishAck } from "../producer/types.js";
import { type Envelope, EnvelopeHeader } from "./types.js";
import { envelopeCodec, requireEnvelope } from "./wire.js";

/** Publish options of an envelope: everything but what the envelope decides. */
export type EnvelopePublishOptions = Omit<JetStreamPublishOptions, "msgId" | "codec">;

/**
 * The JetStream publish options that send `event` as an envelope: the envelope codec,
 * `msgId` (`Nats-Msg-Id`) = `event.eventId`, so publishing the same envelope again within the
 * stream's duplicate window stores it once, and the header `Jetroute-Event-Id` = `event.eventId`
 * next to the caller's `headers`. For `publishWindowed` items and the like; `publishEnvelope`
 * uses it. Throws ErrInvalidEnvelope when `event` is not a valid envelope.
 * @example
 * await producer.publishWindowed(
 *   events.map((e) => ({ subject: "orders.created", payload: e, options: envelopePublishOptions(e) })),
 * );
 */
export function envelopePublishOptions(
  event: Envelope,
  options: EnvelopePublishOptions = {},
): JetStreamPublishOptions {
  requireEnvelope(event);
  const headers = toMsgHdrs(options.headers, true) ?? natsHeaders();
  headers.set(EnvelopeHeader.EventId, event.eventId);
  return { ...options, headers, msgId: event.eventId, codec: envelopeCodec() };
}

/**
 * JetStream-publishes `event` to `subject` as an envelope (see {@link envelopePublishOptions}):
 * stored once per `eventId` within the stream's duplicate window (the ack says `duplicate`).
 * Throws ErrInvalidEnvelope for an invalid envelope, ErrEncode for a payload with no JSON form,
 * and the producer's errors (ErrPublishFailed, ...).
 * @example
 * const ack = await publishEnvelope(producer, "orders.created", envelope({ type: "order.created", producer: "orders", payload: order }));
 */
export async function publishEnvelope(
  producer: Producer,
  subject: string,
  event: Envelope,
  options?: EnvelopePublishOptions,
): Promise<PublishAck> {
  return producer.publishJetStream(subject, event, envelopePublishOptions(event, options));
}
