// The examples and `npm run demo`, run as child processes exactly as a user runs them, so they
// cannot rot: each must exit 0 by itself and print the lines that show what it demonstrates.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";

checkLeaksAfterAll();

/** Far above a normal run (a few seconds); only a hung example gets near it. */
const KILL_AFTER_MS = 40_000;

interface Finished {
  /** null when the process was killed (by the timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node --import tsx <file>` from the repo root. `NATS_URL` unset means the example starts
 * its own embedded nats-server. SIGTERM on timeout lets it drain and stop that server.
 */
function runExample(file: string, natsUrl: string | undefined): Promise<Finished> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" };
  delete env.NATS_URL;
  // Unset: an example that needs PostgreSQL (outbox-inbox) starts its own embedded one.
  delete env.DATABASE_URL;
  // Set by `node --test` for its own children: an example that is itself a node:test file
  // (examples/testing) would report to this runner in its binary protocol, not to stdout.
  delete env.NODE_TEST_CONTEXT;
  if (natsUrl !== undefined) env.NATS_URL = natsUrl;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: KILL_AFTER_MS,
      killSignal: "SIGTERM",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Starts an example that serves until SIGTERM; `whileServing` runs once stdout printed a line
 * matching `ready` (given its match), then the example gets SIGTERM and must exit by itself.
 */
function serveExample(
  file: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  whileServing: (m: RegExpExecArray) => Promise<void>,
): Promise<Finished> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info", ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: KILL_AFTER_MS,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    let checked: Promise<void> | undefined;
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      const m = ready.exec(stdout);
      if (m === null || checked !== undefined) return;
      checked = whileServing(m).finally(() => child.kill("SIGTERM"));
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (checked === undefined) {
        resolve({ code, stdout, stderr });
        return;
      }
      checked.then(() => resolve({ code, stdout, stderr }), reject);
    });
  });
}

/**
 * Starts an example with its own embedded servers and sends it `signal` once stderr matches
 * `when`: the example must stop by itself (its own exit code) long before the kill timeout.
 */
function interruptExample(
  file: string,
  when: RegExp,
  signal: NodeJS.Signals,
): Promise<Finished & { readonly match: RegExpExecArray | null }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" };
  for (const name of ["NATS_URL", "DATABASE_URL", "NODE_TEST_CONTEXT"]) delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: KILL_AFTER_MS,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    let match: RegExpExecArray | null = null;
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      if (match !== null) return;
      match = when.exec(stderr);
      if (match !== null) child.kill(signal);
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, match }));
  });
}

/** The pino JSON lines of an example's output. */
function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function assertExitedCleanly(run: Finished): void {
  assert.equal(
    run.code,
    0,
    `exit code ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
  );
}

describe("examples and the demo", { concurrency: true, timeout: 60_000 }, async () => {
  const server = await useServer();

  it("npm run demo ends by itself with exit code 0 on an embedded server and reports success", async () => {
    const run = await runExample("examples/demo.ts", undefined);
    assertExitedCleanly(run);
    assert.match(run.stderr, /started an embedded nats-server/);
    assert.match(run.stdout, /dedup\s+duplicate: true/);
    assert.match(run.stdout, /9 processed, 3 redeliveries, 3 dead-lettered/);
    assert.match(run.stdout, /Jetroute-Error: warehouse refuses sku CURSED \(delivery 3 of 3\)/);
    assert.match(run.stdout, /reject -> 404; malformed -> 400/);
    assert.match(run.stdout, /^demo OK$/m);
  });

  it("the work-queue example dead-letters its three poison messages and stops by itself", async () => {
    const run = await runExample("examples/work-queue/main.ts", server.url);
    assertExitedCleanly(run);
    const lines = logLines(run.stdout);
    const processed = lines.filter((l) => l.msg === "order processed");
    const deadLettered = lines.filter((l) => l.msg === "message dead-lettered");
    const retried = lines.filter((l) => l.msg === "handler failed");
    assert.equal(processed.length, 9);
    assert.equal(deadLettered.length, 3);
    // FLAKY fails once, CURSED on each of its 3 deliveries.
    assert.equal(retried.length, 4);
    assert.ok(lines.some((l) => l.msg === "all orders settled; shutting down"));
    assert.match(run.stdout, /"duplicate":true/);
    for (const header of [
      "Jetroute-Original-Subject",
      "Jetroute-Delivery-Count",
      "Jetroute-Route",
    ]) {
      assert.match(run.stdout, new RegExp(`${header}: `));
    }
  });

  it("the request-reply example gets a reply, a rejected request as ErrService 404 and a malformed one as 400", async () => {
    const run = await runExample("examples/request-reply/main.ts", server.url);
    assertExitedCleanly(run);
    assert.match(run.stdout, /^reply: \{"sku":"apple","quantity":3,"totalCents":135\}$/m);
    assert.match(run.stdout, /^rejected: ErrService code 404: unknown sku "durian"$/m);
    assert.match(run.stdout, /^malformed: ErrService code 400: /m);
    assert.match(run.stdout, /^service stats: quote 3 requests, 2 errors, last "400:[^"]+"$/m);
  });

  it("the fan-out example gives every event to both instances and each email to one", async () => {
    const run = await runExample("examples/fan-out/main.ts", server.url);
    assertExitedCleanly(run);
    const counts = [
      ...run.stdout.matchAll(/instance \d: (\d+) price events \(fan-out\), (\d+) emails/g),
    ];
    assert.equal(counts.length, 2);
    assert.deepEqual(
      counts.map((m) => Number(m[1])),
      [5, 5],
    );
    assert.equal(
      counts.reduce((sum, m) => sum + Number(m[2]), 0),
      20,
    );
  });

  it("the dead-letters example lists the dead letters, redrives the fixed route's once and purges the other route's", async () => {
    const run = await runExample("examples/dead-letters/main.ts", server.url);
    assertExitedCleanly(run);
    const letters = run.stdout.match(
      /^dead letter #\d+ route=charge .*error=unsupported currency EUR$/gm,
    );
    assert.equal(letters?.length, 2);
    assert.match(run.stdout, /^dead letter #\d+ route=refund .*error=refunds are switched off$/m);
    assert.match(run.stdout, /^dry run: would redrive 2 letters to payments\.charge$/m);
    assert.match(run.stdout, /^redriven: 2 published, 0 duplicates, 2 removed, 0 failed$/m);
    assert.match(run.stdout, /^processed after the fix: o2, o3$/m);
    assert.match(run.stdout, /^redrive again: 0 matched, 0 published$/m);
    assert.match(run.stdout, /^purged 1 dead letter\(s\) of route refund; 0 left$/m);
  });

  it("the testing example's tests pass: runHandler on the handler alone, and one test on the in-memory broker and on nats-server", async () => {
    const run = await runExample("examples/testing/main.ts", server.url);
    assertExitedCleanly(run);
    assert.match(
      run.stdout,
      /^runHandler: gateway down -> nak 100 ms; on delivery 3 -> dead-letter$/m,
    );
    for (const backend of ["memory", "nats-server"]) {
      assert.match(
        run.stdout,
        new RegExp(
          `^${backend}: 2 charged, 1 retried, 1 dead-lettered \\(card declined for order 1\\)$`,
          "m",
        ),
      );
    }
  });

  it("the existing-durable example refuses an ack-none durable, naming the fix, then re-creates it and charges every order", async () => {
    const run = await runExample("examples/existing-durable/main.ts", server.url);
    assertExitedCleanly(run);
    assert.match(
      run.stdout,
      /^refused: .*ack_policy is "none", the route needs "explicit".*Fix: /m,
    );
    assert.match(run.stdout, /^durable "billing" now has ack_policy explicit$/m);
    assert.match(run.stdout, /^charged 5 of 5 orders after re-creating the durable$/m);
  });

  it("the observability example serves /healthz, /readyz and /metrics with this run's counts until SIGTERM", async () => {
    const got: Record<string, { status: number; body: string }> = {};
    const run = await serveExample(
      "examples/observability/main.ts",
      { NATS_URL: server.url, PORT: "0" },
      /serving on (http:\/\/\S+) /,
      async (m) => {
        for (const path of ["/healthz", "/readyz", "/metrics"]) {
          const res = await fetch(`${m[1]}${path}`);
          got[path] = { status: res.status, body: await res.text() };
        }
      },
    );
    assertExitedCleanly(run);
    assert.equal(got["/healthz"]?.status, 200);
    assert.equal(got["/readyz"]?.status, 200, got["/readyz"]?.body);
    assert.equal(got["/metrics"]?.status, 200);
    const settled = (outcome: string) =>
      `jetroute_messages_settled_total{route="orders",stream="OBSERVABILITY",outcome="${outcome}"}`;
    for (const [outcome, n] of [
      ["acked", 4],
      ["retried", 1],
      ["dead_lettered", 1],
    ] as const) {
      assert.ok(got["/metrics"]?.body.includes(`${settled(outcome)} ${n}\n`), outcome);
      assert.ok(run.stdout.includes(`  ${settled(outcome)} ${n}\n`), outcome);
    }
    assert.match(run.stdout, /^readiness: http:\/\/127\.0\.0\.1:\d+\/readyz$/m);
    // one trace per order, the publisher's send span first; "flaky" ran twice, "poison" once
    assert.match(
      run.stdout,
      /^ {2}trace \w{8}…: send observability\.orders -> process observability\.orders \(retried\) -> process observability\.orders \(acked\)$/m,
    );
    assert.match(
      run.stdout,
      /^ {2}trace \w{8}…: send observability\.orders -> process observability\.orders \(dead_lettered\)$/m,
    );
    assert.match(run.stdout, /^observability: drained, endpoint closed$/m);
  });

  it("the replay example rebuilds its total through the route without moving the live durable, then rewinds the durable", async () => {
    const run = await runExample("examples/replay/main.ts", server.url);
    assertExitedCleanly(run);
    assert.match(run.stdout, /^progress: 10 read, seq 10 of 10$/m);
    assert.match(run.stdout, /^replayed 10 of 10: 9 handled, 1 dead-lettered; total 900 cents$/m);
    assert.match(run.stdout, /^live durable pending unchanged: true$/m);
    assert.match(run.stdout, /^durable "invoices" reset to seq 7 \((reset-api|recreated)\)$/m);
    assert.match(run.stdout, /^redelivered after the reset: 7,8,9,10$/m);
  });

  it("the outbox-inbox example places orders through the outbox and bills each one exactly once, even when every event is delivered again", async () => {
    const run = await runExample("examples/outbox-inbox/main.ts", server.url);
    assertExitedCleanly(run);
    assert.match(run.stderr, /started an embedded PostgreSQL/);
    for (const id of ["o-1", "o-2", "o-3"]) {
      assert.match(
        run.stdout,
        new RegExp(`^placed ${id}: .*order row and event in one transaction$`, "m"),
      );
    }
    // The rolled-back order's event never reaches the stream.
    assert.match(
      run.stdout,
      /^rolled back o-4: .*violates check constraint "stock_available_check"; no order row, no event$/m,
    );
    assert.match(
      run.stdout,
      /^relayed 3 events from the outbox \(0 pending\); the stream holds order\.placed for o-1, o-2, o-3$/m,
    );
    assert.match(run.stdout, /^billed: o-1, o-2, o-3$/m);
    assert.match(
      run.stdout,
      /^redelivered: durable "billing" reset to seq 1 \((reset-api|recreated)\); 3 events delivered again, 3 duplicates skipped without running the handler$/m,
    );
    // The handler ran once per order: never for the redelivered copies.
    const invoiced = logLines(run.stdout).filter((l) => l.msg === "invoice created");
    assert.deepEqual(invoiced.map((l) => l.orderId).sort(), ["o-1", "o-2", "o-3"]);
    // Dead-lettered at its first delivery, with the schema's issues.
    assert.match(
      run.stdout,
      /^dead letter #\d+: order\.placed order\/o-5 from orders-v0, delivery 1: envelope payload failed its schema: /m,
    );
    assert.match(run.stdout, /^ {2}issue payload\.customer: /m);
    assert.match(run.stdout, /^ {2}issue payload\.quantity: .*expected number, received string$/m);
    assert.match(run.stdout, /^ {2}issue payload\.totalCents: /m);
    assert.match(
      run.stdout,
      /^summary: orders placed 3, rolled back 1, events relayed 3, invoices created 3 \(each order billed once\), duplicates skipped 3, dead letters 1$/m,
    );
  });

  it("Ctrl-C stops the outbox-inbox example cleanly: exit code 130, its embedded PostgreSQL stopped and deleted", async () => {
    const run = await interruptExample(
      "examples/outbox-inbox/main.ts",
      /started an embedded PostgreSQL at \S+ \(data dir (\S+)\)/,
      "SIGINT",
    );
    assert.equal(
      run.code,
      130,
      `exit code ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
    assert.match(run.stderr, /^\[example\] stopped before the end: SIGINT$/m);
    assert.doesNotMatch(run.stdout, /^summary: /m);
    assert.ok(!logLines(run.stdout).some((l) => l.msg === "cleanup failed"), run.stdout);
    const dataDir = run.match?.[1];
    assert.ok(dataDir !== undefined);
    assert.equal(existsSync(dataDir), false, `${dataDir} left behind`);
  });
});
