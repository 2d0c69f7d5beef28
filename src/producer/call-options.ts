// Per-call publish options: checked, and turned into what nats.js sends.
import type { JetStreamPublishOptions as NatsPublishOptions } from "@nats-io/jetstream";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/nats-core";
import type { Codec } from "../codec/types.js";
import { MAX_TIMER_MS } from "../duration/index.js";
import { ErrInvalidDuration, ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { toMsgHdrs } from "./headers.js";
import { isCodec } from "./options.js";
import type { JetStreamPublishOptions } from "./types.js";

export type NatsJsOptions = Partial<NatsPublishOptions>;

/**
 * jetroute's per-call JetStream options as nats.js `js.publish` options (a fresh object).
 * @throws ErrInvalidDuration, ErrInvalidOption for bad values
 */
export function natsPublishOptions(
  o: JetStreamPublishOptions,
  defaultTimeoutMs: number,
): NatsJsOptions {
  const opts: NatsJsOptions = {
    timeout: o.timeoutMs === undefined ? defaultTimeoutMs : checkTimeout(o.timeoutMs),
  };
  if (o.msgId !== undefined) opts.msgID = checkString("msgId", o.msgId);
  const hasExpect =
    o.expectLastSequence !== undefined ||
    o.expectLastMsgId !== undefined ||
    o.expectLastSubjectSequence !== undefined ||
    o.expectStream !== undefined;
  if (hasExpect) {
    const expect: NonNullable<NatsJsOptions["expect"]> = {};
    if (o.expectLastSequence !== undefined) {
      expect.lastSequence = checkSequence("expectLastSequence", o.expectLastSequence);
    }
    if (o.expectLastSubjectSequence !== undefined) {
      expect.lastSubjectSequence = checkSequence(
        "expectLastSubjectSequence",
        o.expectLastSubjectSequence,
      );
    }
    if (o.expectLastMsgId !== undefined) {
      expect.lastMsgID = checkString("expectLastMsgId", o.expectLastMsgId);
    }
    if (o.expectStream !== undefined) {
      expect.streamName = checkString("expectStream", o.expectStream);
    }
    opts.expect = expect;
  }
  const headers = toMsgHdrs(o.headers, true);
  if (headers) opts.headers = headers;
  return opts;
}

const MSG_ID_HEADER = "Nats-Msg-Id";

/** The headers `js.publish` sends for nats.js options without expectations. */
export function muxHeaders(opts: NatsJsOptions): MsgHdrs | undefined {
  if (opts.msgID === undefined) return opts.headers;
  const h = opts.headers ?? natsHeaders();
  h.set(MSG_ID_HEADER, opts.msgID);
  return h;
}

/** Items whose first attempt keeps `js.publish`: expectations, or a timeout of their own. */
export function ownPath(o: JetStreamPublishOptions): boolean {
  return (
    o.timeoutMs !== undefined ||
    o.expectLastSequence !== undefined ||
    o.expectLastMsgId !== undefined ||
    o.expectLastSubjectSequence !== undefined ||
    o.expectStream !== undefined
  );
}

export function checkTimeout(ms: unknown): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 1 || ms > MAX_TIMER_MS) {
    throw new ErrInvalidDuration(
      invalidValueMessage("timeoutMs", ms, `a number of milliseconds from 1 to ${MAX_TIMER_MS}`),
    );
  }
  return ms;
}

function checkSequence(option: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ErrInvalidOption(invalidValueMessage(option, value, "a non-negative integer"));
  }
  return value;
}

function checkString(option: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ErrInvalidOption(invalidValueMessage(option, value, "a non-empty string"));
  }
  return value;
}

export function checkCodec(codec: unknown): Codec {
  if (!isCodec(codec)) {
    throw new ErrInvalidOption(
      invalidValueMessage("codec", codec, "an object with encode and decode functions"),
    );
  }
  return codec;
}
