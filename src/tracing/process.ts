import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import {
  type Instrument,
  type MessageObservation,
  type MessageOutcome,
  type ObservedMessage,
  type OutcomeDetail,
  type RouteObserver,
  UNOBSERVED,
} from "../observe/index.js";
import type { RouteSpec } from "../router/types.js";
import { subjectMatches } from "../subject/index.js";
import {
  Attr,
  errorType,
  MESSAGING_SYSTEM,
  MSG_ID_HEADER,
  type ServerAttributes,
  SpanEvent,
} from "./attributes.js";
import { describe } from "./send.js";
import { linkTo, type TracerSource } from "./source.js";

/**
 * Traces every handled message: one CONSUMER span per message ("process <subject filter>",
 * operation type `process`), child of the creation context its headers carry (the publisher's
 * send span), active while middleware and handler run so their own spans and publishes nest
 * under it, ended once the outcome was applied.
 */
export function tracingInstrument(source: TracerSource, server?: ServerAttributes): Instrument {
  return { route: (spec) => new RouteTracer(source, spec, server) };
}

class RouteTracer implements RouteObserver {
  readonly #source: TracerSource;
  /** The subject filters, for span names and `messaging.destination.template`. */
  readonly #filters: readonly string[];
  /** What every span of the route carries. */
  readonly #attributes: Attributes;

  readonly #server: ServerAttributes | undefined;

  constructor(source: TracerSource, spec: RouteSpec, server: ServerAttributes | undefined) {
    this.#source = source;
    this.#server = server;
    const attributes: Attributes = {
      [Attr.System]: MESSAGING_SYSTEM,
      [Attr.OperationType]: "process",
      [Attr.OperationName]: "process",
      [Attr.Route]: spec.name,
    };
    if (spec.kind === "jetstream") {
      this.#filters = spec.subjects;
      attributes[Attr.ConsumerGroup] = spec.durable;
      attributes[Attr.Stream] = spec.stream;
    } else {
      this.#filters = [spec.subject];
      const group = spec.kind === "fanout" ? undefined : spec.queueGroup;
      if (group !== undefined) attributes[Attr.ConsumerGroup] = group;
    }
    this.#attributes = Object.freeze(attributes);
  }

  begin(m: ObservedMessage): MessageObservation {
    const tracer = this.#source.tracer();
    if (tracer === undefined) return UNOBSERVED; // no SDK records: nothing to observe
    const creation = this.#source.extract(m.headers);
    const filter = this.#filterOf(m.subject);
    const attributes: Attributes = {
      ...this.#attributes,
      [Attr.DestinationName]: m.subject,
      [Attr.BodySize]: m.bytes,
    };
    if (filter !== m.subject) attributes[Attr.DestinationTemplate] = filter;
    this.#server?.addTo(attributes);
    const id = m.headers?.get(MSG_ID_HEADER);
    if (id) attributes[Attr.MessageId] = id;
    if (m.seq !== undefined) {
      attributes[Attr.StreamSequence] = m.seq;
      attributes[Attr.DeliveryCount] = m.deliveryCount;
    }
    // The creation context is the parent (the conventions' opt-in for single messages, what
    // this library documents) and also linked (their default correlation). Its base is
    // ROOT_CONTEXT: whatever was active when broker.run() was called is no parent of messages.
    const links = linkTo(creation);
    const span = tracer.startSpan(
      `process ${filter}`,
      links === undefined
        ? { kind: SpanKind.CONSUMER, attributes }
        : { kind: SpanKind.CONSUMER, attributes, links },
      creation,
    );
    return new ProcessSpan(span, trace.setSpan(creation, span));
  }

  /** The route filter the subject came in on (the first when several match; they never overlap). */
  #filterOf(subject: string): string {
    const filters = this.#filters;
    if (filters.length === 1) return filters[0] as string;
    return filters.find((f) => subjectMatches(f, subject)) ?? subject;
  }
}

class ProcessSpan implements MessageObservation {
  readonly #span: Span;
  readonly #ctx: Context;

  constructor(span: Span, ctx: Context) {
    this.#span = span;
    this.#ctx = ctx;
  }

  within<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B): R {
    return context.with(this.#ctx, fn, undefined, a, b);
  }

  handled(): void {}

  settled(outcome: MessageOutcome, detail?: OutcomeDetail): void {
    const span = this.#span;
    span.setAttribute(Attr.Outcome, outcome);
    const error = detail?.error;
    if (error !== undefined) {
      if (error instanceof Error) span.recordException(error);
      span.setAttribute(Attr.ErrorType, errorType(error));
    }
    let failed = error !== undefined;
    let message = failed ? describe(error) : undefined;
    switch (outcome) {
      case "retried":
        span.addEvent(
          SpanEvent.Retry,
          detail?.delayMs === undefined ? {} : { [Attr.RetryDelayMs]: detail.delayMs },
        );
        break;
      case "dead_lettered": {
        const reason = detail?.reason;
        span.addEvent(
          SpanEvent.DeadLetter,
          reason === undefined ? {} : { [Attr.DeadLetterReason]: reason },
        );
        if (error === undefined) span.setAttribute(Attr.ErrorType, "dead_lettered");
        failed = true;
        message ??= reason;
        break;
      }
      case "error":
        failed = true;
        if (detail?.replyCode !== undefined) {
          span.setAttribute(Attr.ReplyErrorCode, detail.replyCode);
          if (error === undefined) span.setAttribute(Attr.ErrorType, String(detail.replyCode));
        }
        if (detail?.replyDescription !== undefined) {
          span.setAttribute(Attr.ReplyErrorDescription, detail.replyDescription);
          message ??= detail.replyDescription;
        }
        break;
      default:
        break;
    }
    if (failed) {
      span.setStatus(
        message === undefined
          ? { code: SpanStatusCode.ERROR }
          : { code: SpanStatusCode.ERROR, message },
      );
    }
    span.end();
  }
}
