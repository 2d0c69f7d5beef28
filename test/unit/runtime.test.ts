import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrHandlerTimeout, ErrShutdownTimeout } from "../../src/errors/index.js";
import { silentLogger } from "../../src/logger/index.js";
import type { Producer } from "../../src/producer/types.js";
import {
  ack,
  buildRouteSpec,
  type Context,
  type Handler,
  type Message,
  route,
  withOnError,
  withStream,
  withSubject,
} from "../../src/router/index.js";
import { handlerRuntime } from "../../src/runtime/index.js";

const msg = { subject: "s.x", deliveryCount: 1 } as Message;

function ctxWith(signal: AbortSignal): Context {
  return { signal, logger: silentLogger(), route: "r", producer: {} as Producer };
}

function runtimeFor(handler: Handler, onError?: (err: unknown) => void) {
  const options = onError === undefined ? [] : [withOnError(onError)];
  const spec = buildRouteSpec(route("r", handler, withStream("S"), withSubject("s.x"), ...options));
  return handlerRuntime(spec, [], silentLogger());
}

/** A signal aborted with `reason` while the handler runs, then the handler settles. */
function abortingHandler(controller: AbortController, reason: Error, settle: "throw" | "return") {
  return async () => {
    controller.abort(reason);
    if (settle === "throw") throw reason;
    return ack();
  };
}

test("a handler that throws after the shutdown grace ended is interrupted, not failed", async () => {
  const controller = new AbortController();
  const errors: unknown[] = [];
  const rt = runtimeFor(
    abortingHandler(controller, new ErrShutdownTimeout("grace over"), "throw"),
    (err) => void errors.push(err),
  );
  const result = await rt.run(msg, ctxWith(controller.signal));
  assert.equal(result.kind, "interrupted");
  assert.ok(result.kind === "interrupted" && result.reason instanceof ErrShutdownTimeout);
  assert.deepEqual(errors, [], "onError is not called");
});

test("a handler that returns after the shutdown grace ended is interrupted too", async () => {
  const controller = new AbortController();
  const rt = runtimeFor(
    abortingHandler(controller, new ErrShutdownTimeout("grace over"), "return"),
  );
  assert.equal((await rt.run(msg, ctxWith(controller.signal))).kind, "interrupted");
});

test("a handler stopped by its own timeout is a failure reported to onError", async () => {
  const controller = new AbortController();
  const errors: unknown[] = [];
  const timeout = new ErrHandlerTimeout("too slow");
  const rt = runtimeFor(
    abortingHandler(controller, timeout, "throw"),
    (err) => void errors.push(err),
  );
  const result = await rt.run(msg, ctxWith(controller.signal));
  assert.equal(result.kind, "error");
  assert.deepEqual(errors, [timeout]);
});
