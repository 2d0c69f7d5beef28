import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesCodec, jsonCodec, stringCodec } from "../../src/codec/index.js";
import { ErrDecode, ErrEncode, ErrorCode } from "../../src/errors/index.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("jsonCodec", () => {
  it("round-trips objects, arrays, strings, numbers, booleans and null", () => {
    const codec = jsonCodec();
    for (const value of [
      { id: 1, tags: ["a"], nested: { ok: true } },
      [1, 2],
      "x",
      3.5,
      false,
      null,
    ]) {
      assert.deepEqual(codec.decode(codec.encode(value)), value);
    }
  });

  it("fails to encode undefined, a function, a BigInt and a cycle with ErrEncode", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [undefined, () => 1, 10n, cyclic]) {
      assert.throws(
        () => jsonCodec().encode(value),
        (err: unknown) => err instanceof ErrEncode && err.code === ErrorCode.Encode,
      );
    }
  });

  it("fails to decode invalid JSON, an empty payload and invalid UTF-8 with ErrDecode", () => {
    for (const data of [bytes("{nope"), new Uint8Array(0), new Uint8Array([0xff, 0xfe])]) {
      assert.throws(() => jsonCodec().decode(data), ErrDecode);
    }
  });

  it("keeps the JSON.parse error as the decode error's cause", () => {
    assert.throws(
      () => jsonCodec().decode(bytes("{")),
      (err: unknown) => err instanceof ErrDecode && err.cause instanceof SyntaxError,
    );
  });
});

describe("stringCodec", () => {
  it("round-trips UTF-8 text", () => {
    const codec = stringCodec();
    assert.equal(codec.decode(codec.encode("héllo ✓")), "héllo ✓");
  });

  it("fails to encode a non-string with ErrEncode", () => {
    assert.throws(() => stringCodec().encode(5 as unknown as string), ErrEncode);
  });

  it("fails to decode invalid UTF-8 with ErrDecode", () => {
    assert.throws(() => stringCodec().decode(new Uint8Array([0xc3, 0x28])), ErrDecode);
  });
});

describe("bytesCodec", () => {
  it("passes bytes through untouched both ways", () => {
    const data = new Uint8Array([0, 1, 255]);
    assert.equal(bytesCodec().encode(data), data);
    assert.equal(bytesCodec().decode(data), data);
  });

  it("accepts a Node Buffer as bytes", () => {
    const buf = Buffer.from("abc");
    assert.equal(bytesCodec().encode(buf), buf);
  });

  it("fails to encode anything but a Uint8Array with ErrEncode", () => {
    for (const value of ["abc", [1, 2], { length: 1 }, null]) {
      assert.throws(() => bytesCodec().encode(value as unknown as Uint8Array), ErrEncode);
    }
  });
});
