// Shared set-up of the dlq*.test.ts files: a stream with one subject per route, a DLQ stream,
// and a running broker whose routes reject ("dead-letter") until the test fixes them.
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { Connection } from "../../src/conn/types.js";
import {
  fixed,
  reject,
  route,
  withBackoff,
  withDLQ,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { makeStream, type Running, runBroker, unique, until } from "./engine-support.js";

/** What a handler saw of one message it processed (after being fixed). */
export interface Handled {
  readonly data: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A stream, its DLQ and a broker running one route per name. */
export interface DeadLetterSetup {
  readonly stream: string;
  readonly dlqStream: string;
  /** The DLQ subject every route dead-letters to. */
  readonly dlq: string;
  readonly run: Running;
  /** The subject route `name` consumes. */
  subject(name: string): string;
  /** What route `name` processed once fixed. */
  handled(name: string): Handled[];
  /** From now on route `name` processes instead of rejecting. */
  fix(name: string): void;
  /** Publishes `count` messages `<name>-<i>` to route `name`'s subject (header `X-Trace: t<i>`). */
  publish(name: string, count: number): Promise<number[]>;
  /** Waits until the DLQ stream holds `count` letters. */
  deadLettered(count: number): Promise<void>;
}

export async function deadLetterSetup(
  conn: Connection,
  routes: readonly string[] = ["billing"],
  dlqOptions: Parameters<typeof ensureStream>[2][] = [],
): Promise<DeadLetterSetup> {
  const stream = unique("ORDERS");
  const dlqStream = unique("DLQ");
  const prefix = await makeStream(conn, stream);
  const dlq = `${dlqStream.toLowerCase()}.dead`;
  await ensureStream(conn, dlqStream, withSubjects(dlq), ...dlqOptions);
  const broken = new Set(routes);
  const seen = new Map<string, Handled[]>(routes.map((r) => [r, []]));
  const run = runBroker(conn, (b) => {
    for (const name of routes) {
      b.register(
        route(
          name,
          async (msg) => {
            const data = new TextDecoder().decode(msg.data);
            if (broken.has(name)) return reject(`${name} cannot handle ${data}`);
            const headers: Record<string, string> = {};
            for (const [k, v] of msg.headers ?? []) headers[k] = v.join(",");
            seen.get(name)?.push({ data, headers });
          },
          withStream(stream),
          withSubject(`${prefix}.${name}`),
          withDLQ(dlq),
          withBackoff(fixed("100ms")),
        ),
      );
    }
  });
  await run.broker.started();
  const jsm = await conn.jetstreamManager();
  return {
    stream,
    dlqStream,
    dlq,
    run,
    subject: (name) => `${prefix}.${name}`,
    handled: (name) => seen.get(name) ?? [],
    fix: (name) => {
      broken.delete(name);
    },
    publish: async (name, count) => {
      const seqs: number[] = [];
      for (let i = 1; i <= count; i++) {
        const h = natsHeaders();
        h.set("X-Trace", `t${i}`);
        const ack = await conn.jetstream.publish(`${prefix}.${name}`, `${name}-${i}`, {
          headers: h,
        });
        seqs.push(ack.seq);
      }
      return seqs;
    },
    deadLettered: (count) =>
      until(async () => (await jsm.streams.info(dlqStream)).state.messages === count),
  };
}

/** How many messages `stream` holds now. */
export async function messageCount(conn: Connection, stream: string): Promise<number> {
  const jsm = await conn.jetstreamManager();
  return (await jsm.streams.info(stream)).state.messages;
}

/**
 * A DLQ stream created with `deny_delete` and/or `deny_purge` (which `ensureStream` has no option
 * for), holding one letter per route: `Jetroute-Route` and `Jetroute-Original-Subject` only, the
 * original subject being `<originalPrefix>.<route>`. Returns the stream's name.
 */
export async function deniedDeadLetterStream(
  conn: Connection,
  deny: { readonly deny_delete?: boolean; readonly deny_purge?: boolean },
  routes: readonly string[],
  originalPrefix: string,
): Promise<string> {
  const dlqStream = unique("DLQ");
  const subject = `${dlqStream.toLowerCase()}.dead`;
  const jsm = await conn.jetstreamManager();
  await jsm.streams.add({ name: dlqStream, subjects: [subject], ...deny });
  for (const name of routes) {
    const h = natsHeaders();
    h.set("Jetroute-Route", name);
    h.set("Jetroute-Original-Subject", `${originalPrefix}.${name}`);
    await conn.jetstream.publish(subject, name, { headers: h });
  }
  return dlqStream;
}
