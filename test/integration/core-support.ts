// Shared set-up of the core-*.test.ts files: connections, a recording logger, and a runner
// started the way the broker starts it.
import { after } from "node:test";
import { Broker, type BrokerOption, withConnection } from "../../src/broker/index.js";
import { type ConnOption, connect, withServers } from "../../src/conn/index.js";
import type { Connection } from "../../src/conn/types.js";
import { type CoreRouteRunner, coreRunner } from "../../src/core/index.js";
import { withLogger } from "../../src/logger/index.js";
import { createProducer } from "../../src/producer/index.js";
import type { Producer } from "../../src/producer/types.js";
import { buildRouteSpec, type Route } from "../../src/router/index.js";
import type { Middleware } from "../../src/router/types.js";
import { startServer, type TestServer, type TestServerOptions } from "../../src/testing/index.js";

/** A server for the calling suite, a first connection to it, and a way to open more. */
export interface CoreFixture {
  readonly server: TestServer;
  readonly conn: Connection;
  /** Another connection (with `opts`, default the fixture's), closed with the others. */
  open(...opts: ConnOption[]): Promise<Connection>;
}

/**
 * Call inside an async `describe`: starts a server and connects; after the suite, closes the
 * connections and then stops the server (in that order, so no close waits on a dead server).
 * `connOptions` (e.g. credentials) apply to every connection opened without options of its own.
 */
export async function useCoreFixture(
  options?: TestServerOptions,
  ...connOptions: ConnOption[]
): Promise<CoreFixture> {
  const server = await startServer(options);
  const conns: Connection[] = [];
  after(async () => {
    await Promise.allSettled(conns.map((c) => c.close()));
    await server.stop();
  });
  const open = async (...opts: ConnOption[]): Promise<Connection> => {
    const c = await connect(withServers(server.url), ...(opts.length > 0 ? opts : connOptions));
    conns.push(c);
    return c;
  };
  return { server, conn: await open(), open };
}

/** A runner started on `conn`, with its stop handle. */
export interface Started {
  readonly runner: CoreRouteRunner;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** The run's promise (rejects when the route dies). */
  readonly done: Promise<void>;
  /** Aborts the run and waits for it to resolve. */
  stop(): Promise<void>;
}

export interface StartOptions {
  shutdownTimeoutMs?: number;
  middleware?: readonly Middleware[];
  producer?: Producer;
}

/**
 * Validates `r` and runs it with a RouteRunContext like the broker's; resolves once the route
 * reports started. The run is stopped after the file if the test did not stop it.
 */
export async function startRoute(
  conn: Connection,
  r: Route,
  options: StartOptions = {},
): Promise<Started> {
  const spec = buildRouteSpec(r);
  if (spec.kind === "jetstream") throw new TypeError("core tests take core routes only");
  const runner = coreRunner(spec);
  const logger = recordingLogger();
  const controller = new AbortController();
  let started!: () => void;
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  const done = runner.run({
    conn,
    signal: controller.signal,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5_000,
    healthIntervalMs: 5_000,
    observer: undefined,
    recordError: () => {},
    logger,
    producer: options.producer ?? createProducer(conn),
    middleware: options.middleware ?? [],
    onStarted: started,
  });
  await Promise.race([ready, done]);
  const stop = async (): Promise<void> => {
    controller.abort();
    await done;
  };
  after(() => stop().catch(() => undefined));
  return { runner, logger, done, stop };
}

/** A Broker running some routes on `conn`, with its stop handle. */
export interface RunningBroker {
  readonly broker: Broker;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** `broker.run()`'s promise (rejects with ErrRouteFailed when a route dies). */
  readonly done: Promise<void>;
  /** Aborts the run and waits for it to settle. */
  stop(): Promise<void>;
}

/**
 * `new Broker(withConnection(conn), ...).register(...routes).run(signal)`, as an application
 * writes it; resolves once every route started (or rejects when one could not). Stopped after
 * the calling test if the test did not stop it.
 */
export async function runBroker(
  conn: Connection,
  routes: readonly Route[],
  ...options: BrokerOption[]
): Promise<RunningBroker> {
  const logger = recordingLogger();
  const broker = new Broker(withConnection(conn), withLogger(logger), ...options).register(
    ...routes,
  );
  const controller = new AbortController();
  const done = broker.run(controller.signal);
  const stop = async (): Promise<void> => {
    controller.abort();
    await done;
  };
  after(() => stop().catch(() => undefined));
  // Racing `done` too observes its rejection when a route cannot start.
  await Promise.race([broker.started(), done]);
  return { broker, logger, done, stop };
}

/** {@link runBroker} with a single route. */
export function serve(
  conn: Connection,
  r: Route,
  ...options: BrokerOption[]
): Promise<RunningBroker> {
  return runBroker(conn, [r], ...options);
}

import { gate, type LogLine, recordingLogger, until } from "../helpers/index.js";

export { gate, type LogLine, recordingLogger, until };
