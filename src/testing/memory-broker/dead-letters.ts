// Dead letters: what a route gives up on, or anything published on a DLQ subject, kept in order
// with the engine's own `Jetroute-*` headers.
import type { MsgHdrs } from "@nats-io/nats-core";
import { deadLetterHeaders } from "../../consumer/index.js";
import type { JetStreamRouteSpec, RouteSpec } from "../../router/types.js";
import type { SchemaIssue } from "../../schema/issues.js";
import { subjectMatches } from "../../subject/index.js";
import { headersObject } from "../message.js";
import type { Entry } from "./state.js";
import type { MemoryDeadLetter } from "./types.js";

/** A dead letter as tests see it (the server backend builds its own with this too). */
export function deadLetter(
  subject: string,
  data: Uint8Array,
  h: MsgHdrs | undefined,
): MemoryDeadLetter {
  const headers = headersObject(h);
  return Object.freeze({
    subject,
    data,
    headers,
    header: (name: string) =>
      headers[name]?.[0] ??
      Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1][0],
  });
}

/** Whether `subject` is one of the routes' DLQ subjects. */
export function isDlqSubject(specs: readonly RouteSpec[], subject: string): boolean {
  return specs.some(
    (s) => s.kind === "jetstream" && s.dlq !== undefined && subjectMatches(s.dlq, subject),
  );
}

/** The headers the engine would give the dead letter of `e` (its original's plus the trace). */
export function entryDeadLetterHeaders(
  spec: JetStreamRouteSpec,
  e: Entry,
  reason: string,
  issues?: readonly SchemaIssue[],
): MsgHdrs {
  const { stored } = e;
  const source = {
    subject: stored.subject,
    data: stored.data,
    headers: stored.headers,
    stream: stored.stream,
    seq: stored.seq,
    deliveryCount: e.deliveries,
  };
  return deadLetterHeaders(source, spec, reason, "whole", issues);
}

/** The dead letters stored, oldest first. */
export class DeadLetters {
  readonly #letters: MemoryDeadLetter[] = [];

  get count(): number {
    return this.#letters.length;
  }

  add(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void {
    this.#letters.push(deadLetter(subject, data, headers));
  }

  /** All of them, or those on the DLQ subject `subject`. */
  list(subject?: string): readonly MemoryDeadLetter[] {
    return subject === undefined
      ? [...this.#letters]
      : this.#letters.filter((d) => d.subject === subject);
  }
}
