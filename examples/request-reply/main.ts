// A request-reply service and its client in one process. The service is a core NATS route in a
// queue group (start more copies and they share the requests); the client uses Producer.request
// and shows the three answers a caller must handle: a normal reply, a `reject()` error reply
// (ErrService with code and description), and the 400 a malformed payload gets. The broker also
// answers NATS service discovery (withService): `nats micro ls` lists "pricing", and the example
// ends by asking `$SRV.STATS.pricing` what the service counted.
//
//   npm run example request-reply           (embedded nats-server)
//   NATS_URL=nats://host:4222 npm run example request-reply
import { pathToFileURL } from "node:url";
import {
  Broker,
  type Connection,
  connect,
  createLogger,
  createProducer,
  ErrService,
  type Logger,
  reject,
  route,
  withConcurrency,
  withConnection,
  withLogger,
  withName,
  withQueueGroup,
  withRequestReply,
  withServers,
  withService,
  withShutdownTimeout,
  withSubject,
} from "../../src/index.js";
import { natsForExample, shutdownSignal } from "../shared/nats.js";

/** What the client sends. */
export interface QuoteRequest {
  readonly sku: string;
  readonly quantity: number;
}

/** What the service answers. */
export interface Quote {
  readonly sku: string;
  readonly quantity: number;
  readonly totalCents: number;
}

/** An error reply as the client saw it. */
export interface ServiceErrorView {
  readonly code: number;
  readonly description: string;
}

/** What one run showed; `npm run demo` prints it. */
export interface RequestReplySummary {
  readonly quote: Quote;
  readonly rejected: ServiceErrorView;
  readonly malformed: ServiceErrorView;
}

/** Options of {@link main}. */
export interface RequestReplyOptions {
  /** NATS server to use. @default `NATS_URL`, else an embedded nats-server */
  readonly url?: string;
  readonly logger?: Logger;
}

export const QUOTE_SUBJECT = "prices.quote";
const PRICES_CENTS: Readonly<Record<string, number>> = { apple: 45, pear: 60 };

/**
 * Starts the pricing service, makes the three client calls, then drains the service (every
 * accepted request is answered) and returns what the client saw.
 * @example const summary = await main(shutdownSignal());
 */
export async function main(
  signal: AbortSignal,
  options: RequestReplyOptions = {},
): Promise<RequestReplySummary> {
  const log = options.logger ?? createLogger({ base: { service: "request-reply" } });
  const nats = options.url === undefined ? await natsForExample() : undefined;
  const url = options.url ?? nats?.url ?? "";
  const conn = await connect(withServers(url), withName("pricing"), withLogger(log));
  try {
    return await serveAndCall(conn, log, signal);
  } finally {
    await conn.close();
    await nats?.stop();
  }
}

async function serveAndCall(
  conn: Connection,
  log: Logger,
  signal: AbortSignal,
): Promise<RequestReplySummary> {
  const quote = route(
    "quote",
    async (msg, ctx) => {
      // A payload that is not JSON throws ErrDecode here: the route answers 400 by itself.
      const req = msg.json<QuoteRequest>();
      const price = PRICES_CENTS[req.sku];
      if (price === undefined) return reject(`unknown sku "${req.sku}"`, { code: 404 });
      ctx.logger.info({ sku: req.sku, quantity: req.quantity }, "quote sent");
      // The return value is the reply, JSON-encoded.
      return { sku: req.sku, quantity: req.quantity, totalCents: price * req.quantity } as Quote;
    },
    withSubject(QUOTE_SUBJECT),
    withRequestReply(),
    withQueueGroup("pricing"),
    withConcurrency(8),
  );

  const stop = new AbortController();
  const onCaller = () => stop.abort(signal.reason);
  if (signal.aborted) onCaller();
  else signal.addEventListener("abort", onCaller, { once: true });
  const broker = new Broker(
    withConnection(conn),
    withLogger(log),
    withShutdownTimeout("5s"),
    withService({ name: "pricing", version: "1.0.0", description: "Price quotes" }),
  );
  broker.register(quote);
  const running = broker.run(stop.signal);
  try {
    await broker.started();
    const client = createProducer(conn);

    const ok = await client.request<Quote>(QUOTE_SUBJECT, { sku: "apple", quantity: 3 });
    console.log(`reply: ${JSON.stringify(ok)}`);

    const rejected = await serviceError(() =>
      client.request(QUOTE_SUBJECT, { sku: "durian", quantity: 1 }),
    );
    console.log(`rejected: ErrService code ${rejected.code}: ${rejected.description}`);

    // Bytes are sent as they are, so this reaches the service as broken JSON.
    const malformed = await serviceError(() =>
      client.request(QUOTE_SUBJECT, new TextEncoder().encode("{sku: apple")),
    );
    console.log(`malformed: ErrService code ${malformed.code}: ${malformed.description}`);

    // What `nats micro stats pricing` shows: one answer per running instance (here, one).
    const stats = await conn.nats.request("$SRV.STATS.pricing");
    for (const e of stats.json<MicroStats>().endpoints) {
      console.log(
        `service stats: ${e.name} ${e.num_requests} requests, ${e.num_errors} errors, last "${e.last_error}"`,
      );
    }

    stop.abort(new Error("client done"));
    await running;
    return { quote: ok, rejected, malformed };
  } finally {
    signal.removeEventListener("abort", onCaller);
    stop.abort(new Error("request-reply example ended"));
    await running.catch(() => {});
  }
}

/** The part of a `$SRV.STATS` answer (io.nats.micro.v1.stats_response) printed here. */
interface MicroStats {
  readonly endpoints: readonly {
    readonly name: string;
    readonly num_requests: number;
    readonly num_errors: number;
    readonly last_error: string;
  }[];
}

/** Runs a request that must fail with a service error reply, and returns its code and text. */
async function serviceError(call: () => Promise<unknown>): Promise<ServiceErrorView> {
  try {
    await call();
  } catch (err) {
    // instanceof, not message text: the code and description are the contract.
    if (err instanceof ErrService) return { code: err.serviceCode, description: err.description };
    throw err;
  }
  throw new Error("expected an error reply, got a normal reply");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(shutdownSignal());
}
