// The event envelope: build (`envelope`, `envelopeFactory`, `newEventId`), publish with
// msgId = event id (`publishEnvelope`, `envelopePublishOptions`), encode and decode (the
// envelope codec), and read in a handler (`enveloped`, `readEnvelope`).
export { type EnvelopeBuilder, type EnvelopeDefaults, envelope, envelopeFactory } from "./build.js";
export { type EnvelopedHandler, enveloped, readEnvelope } from "./handler.js";
export { newEventId } from "./id.js";
export { type EnvelopePublishOptions, envelopePublishOptions, publishEnvelope } from "./publish.js";
export {
  type Envelope,
  EnvelopeHeader,
  type EnvelopeInput,
  type EnvelopeResource,
} from "./types.js";
export { decodeEnvelope, encodeEnvelope, envelopeCodec } from "./wire.js";
