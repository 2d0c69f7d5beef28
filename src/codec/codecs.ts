import { describeValue, ErrDecode, ErrEncode } from "../errors/index.js";
import type { Codec } from "./types.js";

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is a decode error, not silently replaced with U+FFFD.
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * JSON over UTF-8, the default codec. Values JSON cannot represent (`undefined`, functions,
 * BigInt, cycles) throw ErrEncode; bytes that are not UTF-8 JSON (including an empty payload)
 * throw ErrDecode.
 * @example const producer = createProducer(conn, withCodec(jsonCodec<Order>()));
 */
export function jsonCodec<T = unknown>(): Codec<T> {
  return JSON_CODEC as Codec<T>;
}

const JSON_CODEC: Codec<unknown> = Object.freeze({
  name: "json",
  encode(value: unknown): Uint8Array {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw new ErrEncode("json codec cannot encode the value", { cause });
    }
    // JSON.stringify returns undefined (not a string) for undefined, functions and symbols.
    if (text === undefined) {
      throw new ErrEncode(`json codec cannot encode ${describeValue(value)}`);
    }
    return encoder.encode(text);
  },
  decode(data: Uint8Array): unknown {
    try {
      return JSON.parse(decoder.decode(data));
    } catch (cause) {
      throw new ErrDecode(`json codec cannot decode ${data.length} bytes`, { cause });
    }
  },
});

/**
 * UTF-8 text. Encoding anything but a string throws ErrEncode; invalid UTF-8 throws ErrDecode.
 * @example const reply = await producer.request("time.now", "", { replyCodec: stringCodec() });
 */
export function stringCodec(): Codec<string> {
  return STRING_CODEC;
}

const STRING_CODEC: Codec<string> = Object.freeze({
  name: "string",
  encode(value: string): Uint8Array {
    if (typeof value !== "string") {
      throw new ErrEncode(`string codec needs a string, got ${describeValue(value)}`);
    }
    return encoder.encode(value);
  },
  decode(data: Uint8Array): string {
    try {
      return decoder.decode(data);
    } catch (cause) {
      throw new ErrDecode(`string codec cannot decode ${data.length} bytes as UTF-8`, { cause });
    }
  },
});

/**
 * Raw bytes, passed through untouched (a Node `Buffer` is a Uint8Array too). Encoding anything
 * else throws ErrEncode.
 * @example const producer = createProducer(conn, withCodec(bytesCodec()));
 */
export function bytesCodec(): Codec<Uint8Array> {
  return BYTES_CODEC;
}

const BYTES_CODEC: Codec<Uint8Array> = Object.freeze({
  name: "bytes",
  encode(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw new ErrEncode(`bytes codec needs a Uint8Array, got ${describeValue(value)}`);
    }
    return value;
  },
  decode(data: Uint8Array): Uint8Array {
    return data;
  },
});
