// Internal: how the engines tell metrics, traces and service stats about each message.
// Nothing here is public API; the capabilities that implement Instrument are.
export { observerFor, UNOBSERVED } from "./compose.js";
export type {
  Instrument,
  MessageObservation,
  MessageOutcome,
  ObservedMessage,
  OutcomeDetail,
  RouteObserver,
} from "./types.js";
