// The streams: each stores, in order, what its routes' subjects receive, once per msgId
// within the duplicate window.
import type { MsgHdrs } from "@nats-io/nats-core";
import type { PublishAck } from "../../producer/types.js";
import { type Consumer, newEntry, type Stored } from "./state.js";

export class Streams {
  readonly #streams = new Map<string, Stored[]>();
  readonly #dedup = new Map<string, Map<string, { seq: number; at: number }>>();

  constructor(readonly dupWindowMs: number) {}

  /** What `stream` stores, oldest first. */
  stored(stream: string): readonly Stored[] {
    return this.#streams.get(stream) ?? [];
  }

  /** Stores a message in `stream` (unless a duplicate) and hands it to its matching consumers. */
  append(
    stream: string,
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
    msgId: string | undefined,
    now: number,
    consumers: Iterable<Consumer>,
  ): PublishAck {
    const seen = this.#dedup.get(stream) ?? new Map<string, { seq: number; at: number }>();
    this.#dedup.set(stream, seen);
    if (msgId !== undefined) {
      const prior = seen.get(msgId);
      if (prior !== undefined && now - prior.at < this.dupWindowMs) {
        return { stream, seq: prior.seq, duplicate: true };
      }
    }
    const list = this.#streams.get(stream) ?? [];
    this.#streams.set(stream, list);
    const stored: Stored = { stream, seq: list.length + 1, subject, data, headers, timestamp: now };
    list.push(stored);
    if (msgId !== undefined) seen.set(msgId, { seq: stored.seq, at: now });
    for (const c of consumers) {
      if (c.spec.stream === stream && c.matches(subject)) c.entries.push(newEntry(stored, now));
    }
    return { stream, seq: stored.seq, duplicate: false };
  }
}
