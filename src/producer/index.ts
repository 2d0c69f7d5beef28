// Publishing: `createProducer(conn, ...options)` and the options and types it uses.
export {
  type ProducerDraft,
  type ProducerOption,
  withCodec,
  withOnPublish,
  withProducerLogger,
  withPublishRetries,
  withPublishTimeout,
  withRetryBackoff,
} from "./options.js";
export { createProducer } from "./producer.js";
export type {
  Codec,
  JetStreamPublishOptions,
  Producer,
  PublishAck,
  PublishEvent,
  PublishHook,
  PublishOptions,
  RequestOptions,
  WindowItem,
  WindowOptions,
  WindowResult,
} from "./types.js";
