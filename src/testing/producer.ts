import { jsonCodec } from "../codec/index.js";
import { ErrNoResponders, ErrPublishFailed } from "../errors/index.js";
import type {
  Codec,
  JetStreamPublishOptions,
  Producer,
  PublishAck,
  PublishOptions,
  RequestOptions,
  WindowItem,
  WindowOptions,
  WindowResult,
} from "../producer/types.js";
import { headersObject, testHeaders } from "./message.js";

/** One call a handler made on `ctx.producer`, as a {@link RecordingProducer} saw it. */
export interface PublishedMessage {
  /** `publish` is core, `publishJetStream` / `publishWindowed` are jetstream, `request` is request. */
  readonly kind: "core" | "jetstream" | "request";
  readonly subject: string;
  /** The payload as the handler passed it. */
  readonly payload: unknown;
  /** The payload as it would go on the wire (bytes as they are, else the codec's, JSON by default). */
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string[]>>;
  /** `Nats-Msg-Id` of a JetStream publish. */
  readonly msgId: string | undefined;
}

/** Answers a `request()` made through a {@link RecordingProducer}. */
export type RequestResponder = (subject: string, payload: unknown) => unknown;

/** Options of {@link recordingProducer}. */
export interface RecordingProducerOptions {
  /**
   * Answers requests; what it returns (or resolves to) is the reply value, what it throws the
   * request's error. @default none: every request throws ErrNoResponders, as with nobody listening
   */
  readonly respond?: RequestResponder;
  /**
   * Stores JetStream publishes; its PublishAck is returned to the handler. The in-memory
   * broker passes its own. @default acks every publish with stream "memory" and a counter
   */
  readonly store?: (message: PublishedMessage) => PublishAck | Promise<PublishAck>;
  /** Receives every core publish after it is recorded (the in-memory broker runs its core routes). @default none */
  readonly deliver?: (message: PublishedMessage) => void;
}

/** A Producer that records what is published instead of sending it. */
export interface RecordingProducer extends Producer {
  /** Every publish, JetStream publish and request, in call order. */
  readonly published: readonly PublishedMessage[];
}

/**
 * A fake Producer for handler tests: records every publish, JetStream publish and request in
 * `published`, encoding payloads as the real producer does (bytes as they are, else the
 * call's codec, JSON by default). JetStream publishes are acked (or stored by `store`);
 * requests are answered by `respond`, or fail with ErrNoResponders.
 * @example
 * const producer = recordingProducer({ respond: (subject) => ({ ok: true }) });
 * await runHandler(myRoute, { data: { id: 1 } }, { producer });
 * assert.equal(producer.published[0]?.subject, "orders.shipped");
 */
export function recordingProducer(options: RecordingProducerOptions = {}): RecordingProducer {
  const published: PublishedMessage[] = [];
  const json = jsonCodec();
  let seq = 0;
  const record = (
    kind: PublishedMessage["kind"],
    subject: string,
    payload: unknown,
    o: (PublishOptions & { msgId?: string }) | undefined,
  ): PublishedMessage => {
    const codec: Codec = o?.codec ?? json;
    const data = payload instanceof Uint8Array ? payload : codec.encode(payload);
    const h = o?.headers;
    const headers =
      h === undefined
        ? {}
        : typeof (h as { append?: unknown }).append === "function"
          ? headersObject(h as Parameters<typeof headersObject>[0])
          : headersObject(testHeaders(h, "headers"));
    const m = Object.freeze({ kind, subject, payload, data, headers, msgId: o?.msgId });
    published.push(m);
    return m;
  };
  const publishJetStream = async (
    subject: string,
    payload: unknown,
    o?: JetStreamPublishOptions,
  ): Promise<PublishAck> => {
    const m = record("jetstream", subject, payload, o);
    if (options.store !== undefined) return options.store(m);
    seq++;
    return { stream: "memory", seq, duplicate: false };
  };
  return {
    published,
    publish(subject: string, payload: unknown, o?: PublishOptions): void {
      const m = record("core", subject, payload, o);
      options.deliver?.(m);
    },
    publishJetStream,
    async request<T = unknown>(subject: string, payload: unknown, o?: RequestOptions): Promise<T> {
      record("request", subject, payload, o);
      if (options.respond === undefined) {
        throw new ErrNoResponders(`no responders for "${subject}" (recordingProducer)`);
      }
      return (await options.respond(subject, payload)) as T;
    },
    async publishWindowed(
      items: Iterable<WindowItem> | AsyncIterable<WindowItem>,
      o?: WindowOptions,
    ): Promise<WindowResult> {
      let published = 0;
      let duplicates = 0;
      let index = 0;
      const failed: { index: number; error: unknown }[] = [];
      for await (const item of items) {
        o?.signal?.throwIfAborted();
        try {
          const ack = await publishJetStream(item.subject, item.payload, item.options);
          if (ack.duplicate) duplicates++;
          else published++;
        } catch (cause) {
          failed.push({ index, error: new ErrPublishFailed("publish failed", { cause }) });
        }
        index++;
      }
      return { published, duplicates, failed };
    },
  };
}
