import type { MsgHdrs } from "@nats-io/nats-core";

/** How payloads are turned into bytes and back. */
export interface Codec<T = unknown> {
  readonly name: string;
  encode(value: T): Uint8Array;
  decode(data: Uint8Array): T;
}

/** Options of one publish. */
export interface PublishOptions {
  /** Headers to send, as a plain object or a nats.js MsgHdrs. */
  headers?: Record<string, string | readonly string[]> | MsgHdrs;
  /** Codec for this payload. @default the producer's codec (JSON) */
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
  /** @default 5000 */
  timeoutMs?: number;
  /** Decodes the reply. @default the producer's codec */
  replyCodec?: Codec;
}

/** Publishes core and JetStream messages and makes requests. Created by `createProducer(conn, ...)`. */
export interface Producer {
  /** Core NATS publish (fire-and-forget, flushed by the connection). */
  publish(subject: string, payload: unknown, options?: PublishOptions): void;
  /** JetStream publish, retried with backoff on transient failures; resolves with the server's ack. */
  publishJetStream(subject: string, payload: unknown, options?: JetStreamPublishOptions): Promise<PublishAck>;
  /** Request-reply; decodes the reply, or throws ErrNoResponders / ErrRequestTimeout / ErrService. */
  request<T = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<T>;
}
