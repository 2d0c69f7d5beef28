// Compile-time specifications of jetroute/testing, checked by `npm run typecheck`.
import { route, withStream, withSubject } from "../../src/index.js";
import {
  memoryBackend,
  type RunHandlerResult,
  runHandler,
  serverBackend,
  type TestBackend,
} from "../../src/testing/index.js";

export async function resultsNarrowByRouteKind(): Promise<void> {
  const r: RunHandlerResult = await runHandler(
    route("r", async () => undefined, withStream("S"), withSubject("s")),
    { data: { id: 1 }, deliveryCount: 2 },
  );
  // @ts-expect-error only a JetStream result has a settlement
  void r.settlement;
  if (r.kind === "jetstream") {
    const delay: number | undefined =
      r.settlement.kind === "nak" ? r.settlement.delayMs : undefined;
    void delay;
    // @ts-expect-error a JetStream result has no reply
    void r.reply;
  }
  if (r.kind === "request" && r.reply.kind === "error") {
    const code: number = r.reply.code;
    void code;
  }
  const plain = route("r", async () => undefined);
  // @ts-expect-error a made-up message has no such field
  await runHandler(plain, { payload: "x" });
}

export function bothBackendsAreTestBackends(): TestBackend[] {
  return [memoryBackend(), serverBackend({ url: "nats://127.0.0.1:4222" })];
}
