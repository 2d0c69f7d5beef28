// The Broker: many routes under one AbortController, fail-fast, drain.
export type { AttachmentHandle, BrokerAttachment, BrokerView } from "./attachment.js";
export { Broker } from "./broker.js";
export {
  type BrokerDraft,
  type BrokerOption,
  type BrokerSettings,
  withBrokerMiddleware,
  withConnection,
  withHealthInterval,
  withProducer,
  withShutdownTimeout,
} from "./options.js";
export { runnerFor } from "./runners.js";
export type { RouteRunContext, RouteRunner, RouteRunnerFactory, RouteStats } from "./types.js";
