// Positions in a stream: where a durable starts, where a replay starts and ends, where a
// durable is rewound to.
export {
  deliverConfig,
  describePosition,
  parseStartAt,
  resolveTime,
  START_AT_EXPECTED,
  type StartAt,
  type StreamPosition,
} from "./position.js";
