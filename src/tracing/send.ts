import { Match, type MsgHdrs } from "@nats-io/nats-core";
import {
  type Attributes,
  context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { ErrService } from "../errors/index.js";
import { Attr, errorType, MESSAGING_SYSTEM, type ServerAttributes } from "./attributes.js";
import type { TracerSource } from "./source.js";

/** What a send span describes. `headers` must be the publish's own copy: the context is written into it. */
export interface OutgoingMessage {
  readonly subject: string;
  readonly headers: MsgHdrs;
  /** Payload size, bytes. */
  readonly bytes: number;
  readonly msgId?: string | undefined;
  /** The connection's current server, for `server.address` / `server.port`. */
  readonly server?: ServerAttributes | undefined;
}

/**
 * One publish's PRODUCER span ("send <subject>", operation type `send`): started before the
 * message leaves, its context injected into the headers as the message's creation context, ended
 * when the publish settles (JetStream ack, reply, or hand-off to the connection).
 *
 * A creation context the caller already put in the headers is kept, unless it belongs to the
 * trace that is active now: then it is a copy forwarded from the message being handled (headers
 * passed on as they came), and this span, a descendant in that same trace, is the more precise
 * context to carry. A kept context is linked from this span, and becomes its parent when no span
 * is active (so the publish stays in the caller's trace).
 */
export class SendSpan {
  readonly #span: Span;

  private constructor(span: Span) {
    this.#span = span;
  }

  static start(source: TracerSource, tracer: Tracer, m: OutgoingMessage): SendSpan {
    const { subject, headers, bytes, msgId, server } = m;
    const active = context.active();
    let parent = active;
    let links: Link[] | undefined;
    let keep = false;
    if (headers.keys().length > 0) {
      const given = source.extract(headers);
      const givenSc = trace.getSpanContext(given);
      if (givenSc !== undefined && trace.isSpanContextValid(givenSc)) {
        const activeSc = trace.getSpanContext(active);
        const activeValid = activeSc !== undefined && trace.isSpanContextValid(activeSc);
        if (!activeValid || activeSc.traceId !== givenSc.traceId) {
          keep = true;
          links = [{ context: givenSc }];
          if (!activeValid) parent = given;
        }
      }
    }
    const attributes: Attributes = {
      [Attr.System]: MESSAGING_SYSTEM,
      [Attr.DestinationName]: subject,
      [Attr.OperationType]: "send",
      [Attr.OperationName]: "send",
      [Attr.BodySize]: bytes,
    };
    if (msgId !== undefined) attributes[Attr.MessageId] = msgId;
    server?.addTo(attributes);
    const span = tracer.startSpan(
      `send ${subject}`,
      links === undefined
        ? { kind: SpanKind.PRODUCER, attributes }
        : { kind: SpanKind.PRODUCER, attributes, links },
      parent,
    );
    if (!keep) {
      // A stale copy (or garbage) must not survive next to the new context.
      for (const field of source.fields()) headers.delete(field, Match.IgnoreCase);
      source.inject(trace.setSpan(parent, span), headers);
    }
    return new SendSpan(span);
  }

  /**
   * {@link start}, failing open: a tracer or propagator that throws costs the publish its span
   * (reported to `onError`), never the publish itself.
   */
  static tryStart(
    onError: (err: unknown) => void,
    ...args: Parameters<typeof SendSpan.start>
  ): SendSpan | undefined {
    try {
      return SendSpan.start(...args);
    } catch (err) {
      onError(err);
      return undefined;
    }
  }

  /** A JetStream publish was stored (or found a duplicate). Never throws. */
  acked(ack: { readonly stream: string; readonly seq: number; readonly duplicate: boolean }): void {
    try {
      this.#span.setAttributes({
        [Attr.Stream]: ack.stream,
        [Attr.StreamSequence]: ack.seq,
        [Attr.Duplicate]: ack.duplicate,
      });
      this.#span.end();
    } catch {
      // A broken SDK must not turn a stored message into a failed publish.
    }
  }

  /** The publish settled: successfully without `error`. Never throws. */
  end(error?: unknown): void {
    try {
      this.#end(error);
    } catch {
      // As in acked(): the publish's result stands whatever the SDK does.
    }
  }

  #end(error: unknown): void {
    const span = this.#span;
    if (error !== undefined) {
      if (error instanceof ErrService) {
        span.setAttribute(Attr.ReplyErrorCode, error.serviceCode);
        span.setAttribute(Attr.ReplyErrorDescription, error.description);
      }
      span.setAttribute(Attr.ErrorType, errorType(error));
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
    }
    span.end();
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
