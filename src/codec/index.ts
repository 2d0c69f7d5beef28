export { bytesCodec, jsonCodec, stringCodec } from "./codecs.js";
export type { Codec } from "./types.js";
