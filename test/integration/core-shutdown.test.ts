import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { withShutdownTimeout } from "../../src/broker/index.js";
import { withUserPass } from "../../src/conn/index.js";
import { type CoreRouteSpec, coreRunner } from "../../src/core/index.js";
import { ErrRouteFailed, ErrService, ErrShutdownTimeout } from "../../src/errors/index.js";
import { silentLogger } from "../../src/logger/index.js";
import { createProducer } from "../../src/producer/index.js";
import {
  buildRouteSpec,
  route,
  withConcurrency,
  withRequestReply,
  withSubject,
} from "../../src/router/index.js";
import { checkLeaksAfterAll } from "../helpers/index.js";
import { gate, serve, until, useCoreFixture } from "./core-support.js";

checkLeaksAfterAll();

describe("core route shutdown", async () => {
  const { conn, open } = await useCoreFixture(
    {
      extraConfig: `authorization {
      users = [
        { user: "app", password: "app" }
        { user: "limited", password: "limited", permissions: { subscribe: { deny: ["secret.>"] } } }
      ]
    }`,
    },
    withUserPass("app", "app"),
  );
  const producer = createProducer(conn);

  it("aborting during 500 in-flight requests answers every accepted one, then run resolves", async () => {
    const hold = gate();
    let entered = 0;
    const r = await serve(
      conn,
      route(
        "drain",
        async (m) => {
          entered++;
          await hold.promise;
          await sleep(1);
          return m.json<number>();
        },
        withSubject("stop.drain"),
        withRequestReply(),
        withConcurrency(500),
      ),
    );
    const replies = Array.from({ length: 500 }, (_, i) =>
      producer.request<number>("stop.drain", i, { timeoutMs: 15_000 }),
    );
    await until(() => entered === 500);
    const stopped = r.stop();
    hold.open();
    assert.deepEqual(
      await Promise.all(replies),
      Array.from({ length: 500 }, (_, i) => i),
    );
    await stopped;
  });

  it("a handler still running when the grace period ends sees ErrShutdownTimeout and its caller gets 503", async () => {
    let reason: unknown;
    let running = false;
    const r = await serve(
      conn,
      route(
        "stuck",
        async (_m, ctx) => {
          running = true;
          // Ignores the abort on purpose, like a handler stuck in a call without a signal.
          await new Promise<void>((resolve) => {
            ctx.signal.addEventListener(
              "abort",
              () => {
                reason = ctx.signal.reason;
                resolve();
              },
              { once: true },
            );
          });
          return "late";
        },
        withSubject("stop.stuck"),
        withRequestReply(),
      ),
      withShutdownTimeout(100),
    );
    const reply = producer.request("stop.stuck", {}).catch((err: unknown) => err);
    await until(() => running);
    await r.stop();
    const err = await reply;
    assert.ok(err instanceof ErrService);
    assert.equal(err.serviceCode, 503);
    assert.ok(reason instanceof ErrShutdownTimeout);
  });

  it("run resolves without subscribing when the signal is already aborted", async () => {
    const spec = buildRouteSpec(
      route("idle", async () => "x", withSubject("stop.idle"), withRequestReply()),
    );
    assert.notEqual(spec.kind, "jetstream");
    let started = false;
    await coreRunner(spec as CoreRouteSpec).run({
      conn,
      signal: AbortSignal.abort(),
      shutdownTimeoutMs: 100,
      logger: silentLogger(),
      producer,
      middleware: [],
      healthIntervalMs: 5_000,
      observer: undefined,
      recordError: () => {},
      onStarted: () => {
        started = true;
      },
    });
    assert.equal(started, false);
  });

  it("a subscription the server refuses makes the route reject with ErrRouteFailed", async () => {
    const limited = await open(withUserPass("limited", "limited"));
    await assert.rejects(
      serve(
        limited,
        route("secret", async () => "x", withSubject("secret.data"), withRequestReply()),
      ),
      (err: unknown) => err instanceof ErrRouteFailed && err.route === "secret",
    );
  });
});
