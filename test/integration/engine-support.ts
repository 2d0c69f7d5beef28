// Shared set-up of the engine-*.test.ts files: connections, streams, brokers run for a test,
// and a logger that records lines.
import assert from "node:assert/strict";
import { after } from "node:test";
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  JetStreamApiError,
  type StoredMsg,
} from "@nats-io/jetstream";
import { Broker, type BrokerOption, withConnection } from "../../src/broker/index.js";
import { connect, withServers } from "../../src/conn/index.js";
import type { Connection } from "../../src/conn/types.js";
import type { JetStreamRouteStats } from "../../src/consumer/index.js";
import { ErrRouteFailed } from "../../src/errors/index.js";
import { withLogger } from "../../src/logger/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";

/** A connection closed after the file. */
export async function useConnection(url: string): Promise<Connection> {
  const conn = await connect(withServers(url));
  after(() => conn.close());
  return conn;
}

let counter = 0;
/** A name unique in this process, so tests on one server never share streams or subjects. */
export function unique(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${counter}`;
}

/** A stream `name` storing `<name>.>` (and any extra subjects); returns its subject prefix. */
export async function makeStream(
  conn: Connection,
  name: string,
  ...extra: string[]
): Promise<string> {
  const prefix = name.toLowerCase();
  await ensureStream(conn, name, withSubjects(`${prefix}.>`, ...extra));
  return prefix;
}

/** A broker being run by a test. */
export interface Running {
  readonly broker: Broker;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** The run's promise, already observed (a rejection is not unhandled). */
  readonly done: Promise<void>;
  /** Aborts the run and waits for it to settle. */
  stop(): Promise<void>;
}

/**
 * Builds a broker on `conn` with a recording logger and `configure`'s routes, runs it, and
 * stops it after the file if the test did not.
 */
export function runBroker(
  conn: Connection,
  configure: (b: Broker) => void,
  ...options: BrokerOption[]
): Running {
  const logger = recordingLogger();
  const broker = new Broker(withConnection(conn), withLogger(logger), ...options);
  configure(broker);
  const controller = new AbortController();
  const done = broker.run(controller.signal);
  done.catch(() => {});
  const stop = async (): Promise<void> => {
    controller.abort();
    await done.catch(() => {});
  };
  after(stop);
  return { broker, logger, done, stop };
}

/** The ErrRouteFailed a broker run rejects with (fails the test if it resolves or rejects otherwise). */
export async function routeFailure(done: Promise<void>): Promise<ErrRouteFailed> {
  try {
    await done;
  } catch (err) {
    assert.ok(err instanceof ErrRouteFailed, `expected ErrRouteFailed, got ${String(err)}`);
    return err;
  }
  assert.fail("expected run() to reject");
}

/** A JetStream route's stats by name (fails the test when the route has none). */
export function jsStats(broker: Broker, name: string): JetStreamRouteStats {
  const s = broker.stats()[name];
  assert.ok(s !== undefined && "held" in s, `no JetStream stats for ${name}`);
  return s;
}

/** Publishes `count` JSON bodies `{ i }` to `subject` and waits for every PubAck. */
export async function publishMany(conn: Connection, subject: string, count: number): Promise<void> {
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    acks.push(conn.jetstream.publish(subject, JSON.stringify({ i })));
  }
  await Promise.all(acks);
}

/** The durable's info. */
export async function consumerInfo(
  conn: Connection,
  stream: string,
  durable: string,
): Promise<ConsumerInfo> {
  const jsm = await conn.jetstreamManager();
  return jsm.consumers.info(stream, durable);
}

/** Every message currently in `stream`, oldest first. */
export async function storedMessages(conn: Connection, stream: string): Promise<StoredMsg[]> {
  const jsm = await conn.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  for (
    let seq = info.state.first_seq;
    seq <= info.state.last_seq && info.state.messages > 0;
    seq++
  ) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m !== null) out.push(m);
  }
  return out;
}

import { gate, type LogLine, recordingLogger, until } from "../helpers/index.js";

/**
 * A stream with `count` messages on `<prefix>.a` and a durable "svc" made by "someone else":
 * explicit ack, filtered on `<prefix>.a` (unless `config` has `filter_subjects`), then `config`.
 */
export async function existingDurable(
  conn: Connection,
  config: Partial<ConsumerConfig> | ((prefix: string) => Partial<ConsumerConfig>),
  count = 0,
): Promise<{ stream: string; prefix: string }> {
  const stream = unique("DUR");
  const prefix = await makeStream(conn, stream);
  await publishMany(conn, `${prefix}.a`, count);
  const extra = typeof config === "function" ? config(prefix) : config;
  const filter = extra.filter_subjects === undefined ? { filter_subject: `${prefix}.a` } : {};
  const jsm = await conn.jetstreamManager();
  await jsm.consumers.add(stream, {
    durable_name: "svc",
    ack_policy: AckPolicy.Explicit,
    ...filter,
    ...extra,
  });
  return { stream, prefix };
}

/**
 * Deletes a durable and adds `config` under its name. The running route may recreate the durable
 * between the two (2.10+ then refuse the add with 10148; 2.9 refuses to change its deliver
 * policy): delete and add again until ours is the one that stands.
 */
export async function swapConsumer(
  conn: Connection,
  stream: string,
  config: Partial<ConsumerConfig>,
): Promise<void> {
  const jsm = await conn.jetstreamManager();
  for (let attempt = 1; ; attempt++) {
    await jsm.consumers.delete(stream, config.durable_name ?? "").catch(() => {});
    try {
      await jsm.consumers.add(stream, config);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || attempt === 20) throw err;
    }
  }
}

export { gate, type LogLine, recordingLogger, until };
