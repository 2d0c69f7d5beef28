// Compile-time specifications, checked by `npm run typecheck` (part of `npm test`).
// Each `@ts-expect-error` line must fail to compile; if it ever compiles, tsc reports the
// unused directive and the suite fails.
import {
  Broker,
  connect,
  createLogger,
  createProducer,
  ErrorCode,
  ErrSubjectRequired,
  ensureStream,
  isJetrouteError,
  type ReplaySummary,
  type ResetResult,
  replay,
  resetDurable,
  route,
  withAsyncTraces,
  withConcurrency,
  withConnection,
  withLogger,
  withMaxAckPending,
  withPublishRetries,
  withServers,
  withStream,
  withSubjects,
} from "../../src/index.js";

export async function optionTypesCannotBeMixed(): Promise<void> {
  const log = createLogger({ level: "silent" });
  // one withLogger serves every constructor that logs
  const conn = await connect(withServers("nats://127.0.0.1:4222"), withLogger(log));
  new Broker(withConnection(conn), withLogger(log));

  // @ts-expect-error a route option is not a broker option
  new Broker(withConnection(conn), withConcurrency(4));
  // @ts-expect-error a stream option is not a connection option
  await connect(withSubjects("orders.>"));
  // @ts-expect-error a route option is not a stream option
  await ensureStream(conn, "ORDERS", withStream("ORDERS"));
  // @ts-expect-error a producer option is not a route option
  route("r", async () => undefined, withPublishRetries(3));
  createProducer(conn, withPublishRetries(3));
  // @ts-expect-error the durable's ack cap is a route option, not a connection option
  await connect(withMaxAckPending(1000));
  // @ts-expect-error async traces are a connection setting, not a route option
  route("r", async () => undefined, withAsyncTraces(true));
}

export function errorCodesNarrow(err: unknown): string {
  if (err instanceof ErrSubjectRequired) {
    const code: "ERR_SUBJECT_REQUIRED" = err.code;
    return code;
  }
  if (isJetrouteError(err, ErrorCode.DLQLoop)) {
    // @ts-expect-error the code is narrowed to the literal asked for
    const wrong: "ERR_SUBJECT_REQUIRED" = err.code;
    return wrong;
  }
  return "";
}

export async function replayTakesAPositionAndResetDurableATarget(): Promise<void> {
  const conn = await connect(withServers("nats://127.0.0.1:4222"));
  const r = route("r", async () => {}, withStream("S"));
  const s: ReplaySummary = await replay(conn, r, { from: "2h", to: 10 });
  const last: number | undefined = s.lastSeq;
  void last;
  // @ts-expect-error `from` is required: a replay starts somewhere
  await replay(conn, r, { to: "end" });
  // @ts-expect-error a replay's concurrency is a number
  await replay(conn, r, { from: "all", concurrency: "2" });
  const reset: ResetResult = await resetDurable(conn, "S", "d", { to: new Date() });
  const method: "reset-api" | "recreated" = reset.method;
  void method;
  // @ts-expect-error resetDurable needs `to`
  await resetDurable(conn, "S", "d", {});
}
