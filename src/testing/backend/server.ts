// The real-server test backend: a Broker on a nats-server, with the streams its routes need.
import { setTimeout as sleep } from "node:timers/promises";
import type { StoredMsg } from "@nats-io/jetstream";
import {
  Broker,
  withBrokerMiddleware,
  withConnection,
  withShutdownTimeout,
} from "../../broker/index.js";
import { connect, withServers } from "../../conn/index.js";
import type { Connection } from "../../conn/types.js";
import type { JetStreamRouteStats } from "../../consumer/index.js";
import { type Duration, toMillis } from "../../duration/index.js";
import { ErrInvalidOption, ErrNotSettled, invalidValueMessage } from "../../errors/index.js";
import { type Logger, silentLogger, withLogger } from "../../logger/index.js";
import { createProducer } from "../../producer/index.js";
import type { Producer } from "../../producer/types.js";
import type { Route } from "../../router/index.js";
import type { JetStreamRouteSpec, Middleware, RouteSpec } from "../../router/types.js";
import { deleteStream, ensureStream, withSubjects } from "../../stream/index.js";
import { subjectCovers, subjectMatches } from "../../subject/index.js";
import {
  deadLetter,
  type MemoryDeadLetter,
  type MemoryPublishOptions,
} from "../memory-broker/index.js";
import { encodeTestData, testHeaders } from "../message.js";
import { specOf } from "../run-handler.js";
import { startServer, type TestServer } from "../server.js";
import { pickStats, type SettledOptions, type TestBackend, type TestRouteStats } from "./types.js";

/** Options of {@link serverBackend}. */
export interface ServerBackendOptions {
  /** The server. @default a nats-server started by `start()` (startServer) and stopped by `dispose()` */
  readonly url?: string;
  /** Broker middleware. @default none */
  readonly middleware?: readonly Middleware[];
  /** @default "30s" */
  readonly shutdownTimeout?: Duration;
  /** @default silent */
  readonly logger?: Logger;
  /** The stream made for the DLQ subjects. @default "JETROUTE_TEST_DLQ_<n>" */
  readonly dlqStream?: string;
}

/** A {@link TestBackend} on a real nats-server, with its Broker and connection once started. */
export interface ServerBackend extends TestBackend {
  readonly kind: "server";
  /** The Broker running the routes; throws before `start()`. */
  readonly broker: Broker;
  /** The connection; throws before `start()`. */
  readonly conn: Connection;
}

let instances = 0;

/**
 * The real-server {@link TestBackend}: a Broker on a connection to `url` (or to a server it
 * starts), the route streams and a DLQ stream made with ensureStream and deleted by `dispose()`.
 * Use unique stream names per test when tests share a server.
 * @example const backend = serverBackend({ url: server.url });
 */
export function serverBackend(options: ServerBackendOptions = {}): ServerBackend {
  return new ServerBackendImpl(options);
}

class ServerBackendImpl implements ServerBackend {
  readonly kind = "server" as const;
  readonly #options: ServerBackendOptions;
  readonly #routes: Route[] = [];
  readonly #specs: RouteSpec[] = [];
  readonly #streams: string[] = [];
  /** Messages stored (not duplicates) on each JetStream route's subjects, by route name. */
  readonly #published = new Map<string, number>();
  #dlqSubjects: string[] = [];
  #server: TestServer | undefined;
  #conn: Connection | undefined;
  #broker: Broker | undefined;
  #producer: Producer | undefined;
  #prepared: Promise<Connection> | undefined;
  #stop: AbortController | undefined;
  #run: Promise<void> | undefined;

  constructor(options: ServerBackendOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ErrInvalidOption(invalidValueMessage("options", options, "an object"));
    }
    this.#options = options;
  }

  get broker(): Broker {
    if (this.#broker === undefined) throw new ErrInvalidOption("serverBackend: call start() first");
    return this.#broker;
  }

  get conn(): Connection {
    if (this.#conn === undefined) throw new ErrInvalidOption("serverBackend: call start() first");
    return this.#conn;
  }

  register(...routes: Route[]): this {
    this.#specs.push(...routes.map((r) => specOf(r)));
    this.#routes.push(...routes);
    return this;
  }

  async start(): Promise<void> {
    const o = this.#options;
    const conn = await this.#prepare();
    const broker = new Broker(
      withConnection(conn),
      withLogger(o.logger ?? silentLogger()),
      withShutdownTimeout(o.shutdownTimeout ?? "30s"),
      withBrokerMiddleware(...(o.middleware ?? [])),
    );
    broker.register(...this.#routes);
    this.#broker = broker;
    const stop = new AbortController();
    this.#stop = stop;
    const run = broker.run(stop.signal);
    run.catch(() => {});
    this.#run = run;
    await Promise.race([broker.started(), run]);
  }

  /**
   * The server, connection, producer and streams, made once: by `start()`, or by a `publish()`
   * before it (a backlog published before the routes start, as the memory backend allows).
   */
  #prepare(): Promise<Connection> {
    this.#prepared ??= (async () => {
      let url = this.#options.url;
      if (url === undefined) {
        this.#server = await startServer();
        url = this.#server.url;
      }
      const conn = await connect(withServers(url));
      this.#conn = conn;
      this.#producer = createProducer(conn);
      await this.#makeStreams(conn);
      return conn;
    })();
    return this.#prepared;
  }

  async #makeStreams(conn: Connection): Promise<void> {
    const js = this.#specs.filter((s): s is JetStreamRouteSpec => s.kind === "jetstream");
    const byStream = new Map<string, string[]>();
    for (const s of js) {
      const list = byStream.get(s.stream) ?? [];
      for (const subject of s.subjects) if (!list.includes(subject)) list.push(subject);
      byStream.set(s.stream, list);
    }
    for (const [name, subjects] of byStream) {
      await ensureStream(conn, name, withSubjects(...subjects));
      this.#streams.push(name);
    }
    const all = [...byStream.values()].flat();
    const dlq = [...new Set(js.flatMap((s) => (s.dlq === undefined ? [] : [s.dlq])))];
    this.#dlqSubjects = dlq;
    // A DLQ subject a route consumes is stored by that route's stream already.
    const own = dlq.filter((d) => !all.some((s) => subjectCovers(s, d)));
    if (own.length > 0) {
      instances++;
      const name = this.#options.dlqStream ?? `JETROUTE_TEST_DLQ_${process.pid}_${instances}`;
      await ensureStream(conn, name, withSubjects(...own));
      this.#streams.push(name);
    }
  }

  async publish(subject: string, data?: unknown, options: MemoryPublishOptions = {}) {
    await this.#prepare();
    const producer = this.#producer as Producer;
    const headers = testHeaders(options.headers, "options.headers");
    const ack = await producer.publishJetStream(subject, encodeTestData(data, "data"), {
      ...(headers === undefined ? {} : { headers }),
      ...(options.msgId === undefined ? {} : { msgId: options.msgId }),
    });
    if (!ack.duplicate) {
      for (const s of this.#specs) {
        if (s.kind !== "jetstream" || !s.subjects.some((f) => subjectMatches(f, subject))) continue;
        this.#published.set(s.name, (this.#published.get(s.name) ?? 0) + 1);
      }
    }
    return ack;
  }

  now(): number {
    return Date.now();
  }

  async advance(by: Duration): Promise<void> {
    await sleep(toMillis(by, "advance"));
  }

  async settled(options: SettledOptions = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const names = this.#specs.filter((s) => s.kind === "jetstream").map((s) => s.name);
    for (;;) {
      let left = 0;
      for (const name of names) {
        const stats = this.#jsStats(name);
        // A consumer's num_pending can lag a publish for a moment (seen on 2.10.27): until the
        // route has received what was published for it, it is not settled.
        left += Math.max(0, (this.#published.get(name) ?? 0) - stats.received);
        left += await this.unsettled(name);
        left += stats.inFlight;
      }
      if (left === 0) return;
      if (Date.now() >= deadline) {
        throw new ErrNotSettled(
          `${left} messages still unsettled after ${options.timeoutMs ?? 10_000} ms`,
        );
      }
      await sleep(20);
    }
  }

  stats(route: string): TestRouteStats {
    return pickStats(this.#jsStats(route));
  }

  #jsStats(route: string): JetStreamRouteStats {
    const s = this.broker.stats()[route];
    if (s === undefined || !("held" in s)) {
      const expected = "the name of a registered JetStream route";
      throw new ErrInvalidOption(invalidValueMessage("route", route, expected));
    }
    return s;
  }

  async unsettled(route: string): Promise<number> {
    const spec = this.#specs.find((s) => s.name === route);
    if (spec?.kind !== "jetstream") {
      const expected = "the name of a registered JetStream route";
      throw new ErrInvalidOption(invalidValueMessage("route", route, expected));
    }
    const jsm = await this.conn.jetstreamManager();
    const info = await jsm.consumers.info(spec.stream, spec.durable);
    return info.num_pending + info.num_ack_pending;
  }

  async deadLetters(): Promise<readonly MemoryDeadLetter[]> {
    const jsm = await this.conn.jetstreamManager();
    const out: { seq: number; time: number; letter: MemoryDeadLetter }[] = [];
    for (const stream of this.#streams) {
      const info = await jsm.streams.info(stream);
      for (
        let seq = info.state.first_seq;
        seq <= info.state.last_seq && info.state.messages > 0;
        seq++
      ) {
        let m: StoredMsg | null;
        try {
          m = await jsm.streams.getMessage(stream, { seq });
        } catch {
          continue; // deleted
        }
        if (m === null || !this.#dlqSubjects.some((d) => subjectMatches(d, m.subject))) continue;
        const time = m.timestamp ? Date.parse(m.timestamp) : 0;
        out.push({ seq, time, letter: deadLetter(m.subject, m.data, m.header) });
      }
    }
    return out.sort((a, b) => a.time - b.time || a.seq - b.seq).map((x) => x.letter);
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#run?.catch(() => {});
  }

  async dispose(): Promise<void> {
    await this.stop();
    const conn = this.#conn;
    if (conn !== undefined) {
      for (const name of this.#streams) await deleteStream(conn, name).catch(() => false);
      await conn.close();
    }
    await this.#server?.stop();
  }
}
