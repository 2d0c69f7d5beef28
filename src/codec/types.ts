/**
 * How payloads are turned into bytes and back. `encode` throws ErrEncode and `decode` throws
 * ErrDecode on values they cannot handle, so callers can tell a bad payload from a NATS failure.
 */
export interface Codec<T = unknown> {
  /** A short name for logs and error messages, e.g. `"json"`. */
  readonly name: string;
  encode(value: T): Uint8Array;
  decode(data: Uint8Array): T;
}
