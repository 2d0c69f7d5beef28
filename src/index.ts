// The whole public API of jetroute. Nothing outside this file is public.
export * from "./duration/index.js";
export * from "./errors/index.js";
export * from "./logger/index.js";
