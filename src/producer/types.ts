import type { MsgHdrs } from "@nats-io/nats-core";
import type { Codec } from "../codec/types.js";

export type { Codec } from "../codec/types.js";

/** Options of one publish. */
export interface PublishOptions {
  /** Headers to send, as a plain object or a nats.js MsgHdrs. */
  headers?: Record<string, string | readonly string[]> | MsgHdrs;
  /**
   * Codec for this payload. A `Uint8Array` payload is always sent as is, whatever the codec.
   * @default the producer's codec (JSON)
   */
  codec?: Codec;
}

/** Options of one JetStream publish. */
export interface JetStreamPublishOptions extends PublishOptions {
  /** `Nats-Msg-Id`: a repeat within the stream's duplicate window is stored once. */
  msgId?: string;
  /** Fail unless the stream's last sequence is this (optimistic concurrency). */
  expectLastSequence?: number;
  /** Fail unless the stream's last message id is this. */
  expectLastMsgId?: string;
  /** Fail unless the last sequence on this subject is this. */
  expectLastSubjectSequence?: number;
  /** Fail unless the subject belongs to this stream. */
  expectStream?: string;
  /** Per-publish timeout (ms). @default the producer's */
  timeoutMs?: number;
}

/** The server's acknowledgement of a JetStream publish. */
export interface PublishAck {
  readonly stream: string;
  readonly seq: number;
  /** True when the msgId was already stored: nothing new was written. */
  readonly duplicate: boolean;
}

/** Request options. */
export interface RequestOptions extends PublishOptions {
  /** Milliseconds to wait for the reply. @default the producer's (`withPublishTimeout`, 5 s) */
  timeoutMs?: number;
  /** Decodes the reply. @default the producer's codec */
  replyCodec?: Codec;
}

/** Publishes core and JetStream messages and makes requests. Created by `createProducer(conn, ...)`. */
export interface Producer {
  /** Core NATS publish (fire-and-forget, flushed by the connection). */
  publish(subject: string, payload: unknown, options?: PublishOptions): void;
  /** JetStream publish, retried with backoff on transient failures; resolves with the server's ack. */
  publishJetStream(
    subject: string,
    payload: unknown,
    options?: JetStreamPublishOptions,
  ): Promise<PublishAck>;
  /** Request-reply; decodes the reply, or throws ErrNoResponders / ErrRequestTimeout / ErrService. */
  request<T = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<T>;
  /**
   * JetStream-publishes every item with up to `window` publishes in flight, each retried like
   * `publishJetStream`; failures are collected, not thrown. First attempts share one reply
   * subscription for the call (items with `expect*` or their own `timeoutMs` use nats.js
   * `js.publish`); retries use `js.publish`. A closed connection fails every item with
   * ErrConnectionClosed.
   * @throws ErrInvalidOption for a bad window or signal; `signal.reason` once it aborts; what the
   * source throws
   */
  publishWindowed(
    items: Iterable<WindowItem> | AsyncIterable<WindowItem>,
    options?: WindowOptions,
  ): Promise<WindowResult>;
}

/** What the `withOnPublish` hook sees after every publish, request and JetStream publish. */
export interface PublishEvent {
  readonly kind: "core" | "jetstream" | "request";
  readonly subject: string;
  /** From the call until the ack / reply / hand-off to the connection, retries included. */
  readonly latencyMs: number;
  /** The error the call failed with (a JetrouteError); absent on success. */
  readonly error?: unknown;
  /** JetStream only: the server already had this msgId. */
  readonly duplicate?: boolean;
}

/**
 * Observes publishes (metrics, tracing). It may be async: it is not awaited, and a throw or
 * rejection is logged at warn ("onPublish hook failed") and ignored.
 */
export type PublishHook = (event: PublishEvent) => void | Promise<void>;

/** One message for `publishWindowed`. */
export interface WindowItem {
  readonly subject: string;
  readonly payload: unknown;
  readonly options?: JetStreamPublishOptions;
}

/** Options of `publishWindowed`. */
export interface WindowOptions {
  /** Most publishes awaiting their ack at once. @default 1000 */
  window?: number;
  /**
   * Stops taking new items; publishes in flight still settle, then the call rejects with
   * `signal.reason` (no result: give items a msgId to publish them again safely). Checked
   * before each item is taken, so an item taken is always published; a source waiting for its
   * next item is not interrupted.
   */
  signal?: AbortSignal;
}

/** What `publishWindowed` did. `published + duplicates + failed.length` is the item count. */
export interface WindowResult {
  /** Items newly stored. */
  readonly published: number;
  /**
   * Items whose msgId the stream already had. That includes an item whose first attempt was
   * stored but its ack lost (a timeout): the retry finds its own first copy.
   */
  readonly duplicates: number;
  /** Items that failed after retries; `index` is the item's position in the input. */
  readonly failed: ReadonlyArray<{ readonly index: number; readonly error: unknown }>;
}
