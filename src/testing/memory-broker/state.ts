// What the in-memory broker keeps: stored messages, each route's entries (one per message it
// consumes) and counters, and the state its parts (delivery, core routes) share.
import type { MsgHdrs } from "@nats-io/nats-core";
import type { Logger } from "../../logger/index.js";
import type { Context, JetStreamRouteSpec } from "../../router/types.js";
import type { InlineHandlerRuntime } from "../../runtime/index.js";
import { subjectMatches } from "../../subject/index.js";
import type { TestClock } from "../clock.js";
import { headersObject } from "../message.js";
import type { MemoryMessage, MemoryMessageState } from "./types.js";

/** A message as a stream stores it. */
export interface Stored {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly timestamp: number;
}

type EntryState =
  | "ready"
  | "held"
  | "running"
  | "unacked"
  | "acked"
  | "dead-lettered"
  | "terminated";

/** A stored message as one route's durable tracks it. */
export interface Entry {
  readonly stored: Stored;
  deliveries: number;
  state: EntryState;
  /** ready: deliverable from; unacked: ack wait ends at. */
  dueAt: number;
  /** Bumped when a delivery is given up on, so a late result of it is ignored. */
  token: number;
}

class Counters {
  received = 0;
  handled = 0;
  acked = 0;
  nakd = 0;
  deadLettered = 0;
  released = 0;
  abandoned = 0;
}

/** One JetStream route's durable and worker pool. */
export class Consumer {
  readonly entries: Entry[] = [];
  readonly stats = new Counters();
  running = 0;
  held = 0;

  constructor(
    readonly spec: JetStreamRouteSpec,
    readonly runtime: InlineHandlerRuntime,
    readonly logger: Logger,
  ) {}

  matches(subject: string): boolean {
    return this.spec.subjects.some((s) => subjectMatches(s, subject));
  }
}

type Phase = "idle" | "running" | "draining";

/** Builds the `ctx` a handler gets (its signal is the broker's current grace signal). */
export type ContextOf = (route: string, logger: Logger) => Context;

/** What the broker's parts read and change together. */
export class BrokerState {
  phase: Phase = "idle";
  /** Aborts handlers' ctx.signal: at the end of the grace period, or on a crash. */
  grace = new AbortController();
  /** Core route handlers running now. */
  coreRunning = 0;
  readonly consumers = new Map<string, Consumer>();

  constructor(readonly clock: TestClock) {}
}

export function newEntry(stored: Stored, now: number): Entry {
  return { stored, deliveries: 0, state: "ready", dueAt: now, token: 0 };
}

export function isDue(e: Entry, now: number): boolean {
  return (e.state === "ready" || e.state === "unacked") && e.dueAt <= now;
}

/** An entry as tests see it. */
export function messageView(c: Consumer, e: Entry, now: number): MemoryMessage {
  const state: MemoryMessageState =
    e.state === "ready"
      ? e.dueAt <= now
        ? "pending"
        : "delayed"
      : e.state === "held" || e.state === "running"
        ? "in-flight"
        : e.state;
  return Object.freeze({
    route: c.spec.name,
    stream: e.stored.stream,
    seq: e.stored.seq,
    subject: e.stored.subject,
    data: e.stored.data,
    headers: headersObject(e.stored.headers),
    deliveryCount: e.deliveries,
    state,
    dueAt: e.dueAt,
  });
}
