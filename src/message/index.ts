export { fromCoreMsg, fromJetStream, type JetStreamDelivery } from "./message.js";
