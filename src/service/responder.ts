import { type Msg, nuid, type Subscription } from "@nats-io/nats-core";
import type { AttachmentHandle, BrokerAttachment, BrokerView } from "../broker/attachment.js";
import { ErrInvalidOption, ErrServiceDiscoveryFailed } from "../errors/index.js";
import type { RouteSpec } from "../router/types.js";
import { SERVICE_NAME, type ServiceConfig } from "./config.js";
import { isEndpoint, type ServiceStats } from "./stats.js";

/** The micro protocol's subject prefix and response types (ADR-32, nats.js `ServiceResponseType`). */
export const SERVICE_API_PREFIX = "$SRV";
export const ServiceResponseType = {
  Ping: "io.nats.micro.v1.ping_response",
  Info: "io.nats.micro.v1.info_response",
  Stats: "io.nats.micro.v1.stats_response",
} as const;

const VERBS = ["PING", "INFO", "STATS"] as const;
type Verb = (typeof VERBS)[number];

/** One endpoint: a request-reply route as the service lists it. */
interface Endpoint {
  readonly name: string;
  readonly subject: string;
  /** "" when the route has no queue group (every instance gets every request). */
  readonly queueGroup: string;
  readonly metadata: Readonly<Record<string, string>>;
}

// jetroute answers the `$SRV` verbs itself instead of running @nats-io/services' Service: a
// Service owns its endpoints' subscriptions, while our request routes own theirs (bounded
// workers, overload 503s, drain at shutdown), so only the discovery side is the protocol's.

/** The responder's attachment name: one per broker (withService refuses a second). */
export const SERVICE_ATTACHMENT = "service responder";

/**
 * The `$SRV` responder, attached to one broker run: answers PING, INFO and STATS on
 * `$SRV.<verb>`, `$SRV.<verb>.<name>` and `$SRV.<verb>.<name>.<id>` (no queue group: every
 * instance answers) from before the first route starts until every route drained.
 */
export function serviceResponder(config: ServiceConfig, stats: ServiceStats): BrokerAttachment {
  return Object.freeze({
    name: SERVICE_ATTACHMENT,
    start: (view: BrokerView) => startResponder(config, stats, view),
  });
}

async function startResponder(
  config: ServiceConfig,
  stats: ServiceStats,
  view: BrokerView,
): Promise<AttachmentHandle> {
  const endpoints = resolveEndpoints(config, view.routes());
  const id = nuid.next();
  const identity = {
    name: config.name,
    id,
    version: config.version,
    metadata: config.metadata,
  };
  const started = new Date().toISOString();
  // PING and INFO never change during a run: encoded once.
  const ping = JSON.stringify({ type: ServiceResponseType.Ping, ...identity });
  const info = JSON.stringify({
    type: ServiceResponseType.Info,
    ...identity,
    description: config.description,
    endpoints: endpoints.map((e) => ({
      name: e.name,
      subject: e.subject,
      queue_group: e.queueGroup,
      metadata: e.metadata,
    })),
  });
  const statsJson = (): string => {
    const routeStats = view.stats();
    return JSON.stringify({
      type: ServiceResponseType.Stats,
      ...identity,
      started,
      endpoints: endpoints.map((e) => {
        const c = stats.counts(e.name);
        return {
          name: e.name,
          subject: e.subject,
          queue_group: e.queueGroup,
          num_requests: c.numRequests,
          num_errors: c.numErrors,
          last_error: c.lastError,
          processing_time: c.processingTimeNs,
          average_processing_time: c.averageProcessingTimeNs,
          // The route's own counters: requests dropped when overloaded never reach a handler,
          // so they are not in num_requests; `dropped` says how many.
          data: routeStats[e.name],
        };
      }),
    });
  };
  const answer = (verb: Verb): string =>
    verb === "PING" ? ping : verb === "INFO" ? info : statsJson();

  const nc = view.conn.nats;
  const logger = view.logger.child({ component: "service", service: config.name, id });
  const subs: Subscription[] = [];
  const stop = async (): Promise<void> => {
    for (const s of subs) s.unsubscribe();
    // The UNSUBs reach the server before stop() resolves: nothing answers after run() ends.
    if (!nc.isClosed()) await nc.flush().catch(() => undefined);
  };
  try {
    for (const verb of VERBS) {
      for (const subject of controlSubjects(verb, config.name, id)) {
        subs.push(
          nc.subscribe(subject, {
            callback: (err, msg) => {
              if (err === null) respond(msg, answer(verb), logger);
            },
          }),
        );
      }
    }
    // The server answers the PING after processing the SUBs: a permissions error is in by now.
    await nc.flush();
  } catch (cause) {
    await stop();
    throw discoveryFailed(cause);
  }
  const closed = subs.find((s) => s.isClosed());
  if (closed !== undefined) {
    const cause = await closed.closed;
    await stop();
    throw discoveryFailed(cause ?? undefined);
  }
  logger.info(
    { endpoints: endpoints.map((e) => e.name), version: config.version },
    "service discovery answering on $SRV",
  );
  return { stop };
}

/** `$SRV.<verb>`, `$SRV.<verb>.<name>`, `$SRV.<verb>.<name>.<id>`. */
function controlSubjects(verb: Verb, name: string, id: string): string[] {
  const all = `${SERVICE_API_PREFIX}.${verb}`;
  return [all, `${all}.${name}`, `${all}.${name}.${id}`];
}

function respond(msg: Msg, body: string, logger: BrokerView["logger"]): void {
  try {
    if (msg.reply) msg.respond(body);
  } catch (err) {
    logger.warn({ err, subject: msg.subject }, "service discovery reply could not be sent");
  }
}

function discoveryFailed(cause: unknown): Error {
  return new ErrServiceDiscoveryFailed(
    `withService: could not subscribe to ${SERVICE_API_PREFIX}.PING|INFO|STATS (a permissions ` +
      `violation? allow this user to subscribe to "${SERVICE_API_PREFIX}.>")`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The request-reply routes that are endpoints, in registration order. Throws ErrInvalidOption
 * (so `run()` rejects before any route starts) when `endpoints` names a route that is not a
 * registered request-reply route, when a route's name is not a valid endpoint name, or when no
 * endpoint is left.
 */
function resolveEndpoints(config: ServiceConfig, specs: readonly RouteSpec[]): Endpoint[] {
  for (const name of config.endpoints.keys()) {
    const spec = specs.find((r) => r.name === name);
    if (spec?.kind === "request") continue;
    const what =
      spec === undefined ? "no route of that name is registered" : `it is a ${spec.kind} route`;
    throw new ErrInvalidOption(
      `withService endpoints names route ${JSON.stringify(name)}, but ${what}: only ` +
        "request-reply routes (withRequestReply()) are endpoints; fix the name or remove the entry",
    );
  }
  const endpoints: Endpoint[] = [];
  for (const spec of specs) {
    if (spec.kind !== "request" || !isEndpoint(config, spec)) continue;
    if (!SERVICE_NAME.test(spec.name)) {
      throw new ErrInvalidOption(
        `withService: route ${JSON.stringify(spec.name)} cannot be a NATS micro endpoint: ` +
          "endpoint names may only use A-Z a-z 0-9 - _; rename the route, or leave it out " +
          `with endpoints: { ${JSON.stringify(spec.name)}: false }`,
      );
    }
    const metadata = config.endpoints.get(spec.name);
    endpoints.push({
      name: spec.name,
      subject: spec.subject,
      queueGroup: spec.queueGroup ?? "",
      metadata: metadata === undefined || metadata === false ? Object.freeze({}) : metadata,
    });
  }
  if (endpoints.length === 0) {
    throw new ErrInvalidOption(
      `withService(${JSON.stringify(config.name)}) needs at least one request-reply route ` +
        "(withRequestReply()) registered and not left out by endpoints: register one, or drop withService",
    );
  }
  return endpoints;
}
