// Compile-time specifications of withTracing (checked by `npm run typecheck`): like withLogger,
// one option serves the Broker and createProducer, and nothing else takes it.
import type { TracerProvider } from "@opentelemetry/api";
import {
  Broker,
  type Connection,
  createProducer,
  ensureStream,
  route,
  withConnection,
  withTracing,
} from "../../src/index.js";

export async function tracingOptionFitsBrokerAndProducer(
  conn: Connection,
  provider: TracerProvider,
): Promise<void> {
  new Broker(withConnection(conn), withTracing(false));
  new Broker(withConnection(conn), withTracing({ tracerProvider: provider }));
  createProducer(conn, withTracing(true));

  // @ts-expect-error a tracing option is not a route option
  route("r", async () => {}, withTracing(false));
  // @ts-expect-error a tracing option is not a stream option
  await ensureStream(conn, "S", withTracing(false));
  // @ts-expect-error withTracing takes a boolean or { tracerProvider?, propagator? }
  withTracing({ sampler: 1 });
}
