// The CLI's pure parts: exit codes and messages, flag parsing, --exec loading, progress output.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { CommanderError } from "commander";
import { isRoute, loadExecTarget, parseExecSpec } from "../../src/cli/commands/exec-module.js";
import { replayRoute } from "../../src/cli/commands/replay.js";
import { redactUrl } from "../../src/cli/connection.js";
import {
  ExitCode,
  exitCodeFor,
  InterruptedError,
  messageFor,
  OperationError,
  UsageError,
} from "../../src/cli/exit.js";
import type { Io } from "../../src/cli/output.js";
import { escapeControls, formatAgo, formatBytes } from "../../src/cli/output.js";
import {
  checkPositionFlag,
  checkRange,
  checkSubjectFlag,
  parseDurationFlag,
  parseSeqArg,
  parseTimeFlag,
} from "../../src/cli/parse.js";
import { startProgress } from "../../src/cli/progress.js";
import { ErrConnectFailed, ErrInvalidOption } from "../../src/errors/index.js";
import { type RouteDraft, RouteOptionName } from "../../src/router/index.js";

const fixtures = new URL("./fixtures/", import.meta.url).pathname;

describe("cli exit codes and messages", () => {
  it("bad usage exits 2, a failed operation 1, Ctrl-C 130, help and version 0", () => {
    assert.equal(exitCodeFor(new UsageError("x")), ExitCode.Usage);
    assert.equal(exitCodeFor(new OperationError("x")), ExitCode.Failed);
    assert.equal(exitCodeFor(new InterruptedError()), ExitCode.Interrupted);
    assert.equal(exitCodeFor(new Error("boom")), ExitCode.Failed);
    assert.equal(exitCodeFor(new ErrInvalidOption("withServers must be ...")), ExitCode.Usage);
    assert.equal(exitCodeFor(new ErrConnectFailed("could not connect")), ExitCode.Failed);
    assert.equal(exitCodeFor(new CommanderError(0, "commander.helpDisplayed", "")), ExitCode.Ok);
    assert.equal(exitCodeFor(new CommanderError(0, "commander.version", "")), ExitCode.Ok);
    assert.equal(exitCodeFor(new CommanderError(0, "commander.help", "")), ExitCode.Ok);
    assert.equal(exitCodeFor(new CommanderError(1, "commander.help", "")), ExitCode.Usage);
    assert.equal(
      exitCodeFor(new CommanderError(1, "commander.unknownOption", "error: unknown option")),
      ExitCode.Usage,
    );
  });

  it("a message is one line, without the error code prefix or commander's `error:`", () => {
    assert.equal(
      messageFor(new ErrConnectFailed("could not connect to x")),
      "could not connect to x",
    );
    assert.equal(
      messageFor(
        new CommanderError(
          1,
          "commander.unknownCommand",
          "error: unknown command 'x'\n(Did you mean y?)",
        ),
      ),
      "unknown command 'x' (Did you mean y?)",
    );
    assert.equal(messageFor(new Error("first line\nstack-ish detail")), "first line");
    assert.equal(messageFor("a string"), "a string");
  });
});

describe("cli flag parsing", () => {
  it("a duration flag takes ms, s, m, h and names the flag otherwise", () => {
    assert.equal(parseDurationFlag("--timeout", "500ms"), 500);
    assert.equal(parseDurationFlag("--timeout", "2s"), 2000);
    assert.throws(() => parseDurationFlag("--timeout", "soon"), {
      name: "UsageError",
      message: /^--timeout must be a duration/,
    });
  });

  it("a position flag accepts a sequence, an ISO time, a duration back and all (a start) or end", () => {
    assert.deepEqual(checkPositionFlag("--from", "42"), { kind: "seq", seq: 42 });
    assert.deepEqual(checkPositionFlag("--from", "2h"), { kind: "ago", ms: 7_200_000 });
    assert.equal(checkPositionFlag("--from", "2026-01-01T00:00:00Z").kind, "time");
    assert.equal(checkPositionFlag("--from", "all").kind, "all");
    for (const bad of ["0", "-1", "yesterday", "2h ago", "", "new", "last-per-subject", "end"]) {
      assert.throws(() => checkPositionFlag("--from", bad), { name: "UsageError" }, bad);
    }
    assert.equal(checkPositionFlag("--to", "end", true).kind, "end");
    assert.throws(() => checkPositionFlag("--to", "all", true), {
      message: /or "end", got "all"$/,
    });
    assert.throws(() => checkPositionFlag("--from", "2999-01-01"), {
      message: /^--from must not be in the future/,
    });
  });

  it("a range whose --from is after its --to is bad usage (sequences or times only)", () => {
    const now = new Date("2026-11-30T12:00:00Z");
    const given = { from: "a", to: "b" };
    const seq = (n: number) => ({ kind: "seq", seq: n }) as const;
    const ago = (ms: number) => ({ kind: "ago", ms }) as const;
    assert.throws(() => checkRange(seq(7), seq(5), given, now), { name: "UsageError" });
    assert.throws(() => checkRange(ago(1000), ago(2000), given, now), { name: "UsageError" });
    checkRange(seq(5), seq(5), given, now);
    checkRange(seq(7), ago(1000), given, now);
    checkRange(seq(7), { kind: "end" }, given, now);
  });

  it("control characters print as escapes; newlines and tabs stay where asked", () => {
    assert.equal(escapeControls("a\u001b[31mb\u009b\u007f\n\t"), "a\\x1b[31mb\\x9b\\x7f\\n\\t");
    assert.equal(escapeControls("a\nb\tc\rd\u0007", true), "a\nb\tc\\rd\\x07");
    assert.equal(escapeControls("plain é ✓"), "plain é ✓");
  });

  it("a server URL is shown without its user info", () => {
    assert.equal(redactUrl("nats://ann:pw@host:4222"), "nats://***@host:4222");
    assert.equal(redactUrl("tok@host:4222"), "***@host:4222");
    assert.equal(redactUrl("nats://host:4222"), "nats://host:4222");
  });

  it("a time flag is a time or a duration back from now, never a sequence", () => {
    const now = new Date("2026-11-30T12:00:00Z");
    assert.equal(parseTimeFlag("--since", "2h", now).toISOString(), "2026-11-30T10:00:00.000Z");
    assert.equal(
      parseTimeFlag("--since", "2026-11-30T08:00:00Z", now).toISOString(),
      "2026-11-30T08:00:00.000Z",
    );
    assert.throws(() => parseTimeFlag("--since", "42", now), { message: /^--since must be/ });
    // a filter may name the future: --before tomorrow keeps everything so far
    assert.equal(
      parseTimeFlag("--before", "2027-01-01", now).toISOString(),
      "2027-01-01T00:00:00.000Z",
    );
  });

  it("a sequence argument is an integer >= 1", () => {
    assert.equal(parseSeqArg("<seq>", "7"), 7);
    for (const bad of ["0", "1.5", "x", "-3", "99999999999999999999"]) {
      assert.throws(() => parseSeqArg("<seq>", bad), { name: "UsageError" }, bad);
    }
  });

  it("a subject flag refuses empty tokens, spaces, and wildcards where none are allowed", () => {
    assert.equal(checkSubjectFlag("--subject", "a.*.>", true), "a.*.>");
    assert.equal(checkSubjectFlag("--to", "a.b", false), "a.b");
    for (const bad of ["a..b", "a b", ".a", "a.>.b", "a.b*"]) {
      assert.throws(() => checkSubjectFlag("--subject", bad, true), { name: "UsageError" }, bad);
    }
    assert.throws(() => checkSubjectFlag("--to", "a.*", false), { message: /without wildcards/ });
  });
});

describe("replay --exec", () => {
  it("module#export splits at the last #; no # means the default export", () => {
    assert.deepEqual(parseExecSpec("./h.ts#charge"), { path: "./h.ts", exportName: "charge" });
    assert.deepEqual(parseExecSpec("./h.ts"), { path: "./h.ts", exportName: "default" });
    assert.throws(() => parseExecSpec("./h.ts#"), { name: "UsageError" });
    assert.throws(() => parseExecSpec("#x"), { name: "UsageError" });
  });

  it("loads a handler function, a route, and the default export", async () => {
    const h = await loadExecTarget("cli-exec.ts#handler", fixtures);
    assert.equal(h.kind, "handler");
    const r = await loadExecTarget("cli-exec.ts#charge", fixtures);
    assert.equal(r.kind, "route");
    assert.ok(r.kind === "route" && isRoute(r.route));
    assert.equal((await loadExecTarget("cli-exec.ts", fixtures)).kind, "handler");
  });

  it("a missing module, a missing export or a value that is not a handler is bad usage", async () => {
    await assert.rejects(loadExecTarget("nope.ts#x", fixtures), {
      name: "UsageError",
      message: /no such module "nope\.ts"/,
    });
    await assert.rejects(loadExecTarget("cli-exec.ts#missing", fixtures), {
      name: "UsageError",
      message: /has no export "missing" \(its exports: .*charge/,
    });
    await assert.rejects(loadExecTarget("cli-exec.ts#notAHandler", fixtures), {
      name: "UsageError",
      message: /must be a route .* or a handler function/,
    });
  });

  function declared(r: { options: readonly unknown[] }) {
    const draft: RouteDraft = { values: new Map(), set: new Set(), middleware: [] };
    for (const o of r.options) (o as (d: RouteDraft) => void)(draft);
    return [draft.values.get(RouteOptionName.Stream), draft.values.get(RouteOptionName.Subject)];
  }

  it("a handler becomes a route on <stream> and --subject, which it requires", async () => {
    const target = await loadExecTarget("cli-exec.ts#handler", fixtures);
    const r = replayRoute(target, "ORDERS", "orders.>");
    assert.equal(r.name, "replay");
    assert.deepEqual(declared(r), ["ORDERS", "orders.>"]);
    assert.throws(() => replayRoute(target, "ORDERS", undefined), {
      name: "UsageError",
      message: /^--subject is required when --exec names a handler/,
    });
  });

  it("a route keeps its own stream and subject; <stream> and --subject must agree with them", async () => {
    const target = await loadExecTarget("cli-exec.ts#charge", fixtures);
    assert.equal(replayRoute(target, "ORDERS", undefined), target.kind === "route" && target.route);
    assert.ok(replayRoute(target, "ORDERS", "orders.created"));
    assert.throws(() => replayRoute(target, "OTHER", undefined), {
      name: "UsageError",
      message: /<stream> is "OTHER" but route "charge" consumes stream "ORDERS"/,
    });
    assert.throws(() => replayRoute(target, "ORDERS", "orders.>"), {
      name: "UsageError",
      message: /--subject is "orders\.>" but route "charge" consumes "orders\.created"/,
    });
  });

  it("a route that declares no stream or subject takes <stream> and needs --subject", async () => {
    const target = await loadExecTarget("cli-exec.ts#bare", fixtures);
    assert.deepEqual(declared(replayRoute(target, "ORDERS", "orders.x")), ["ORDERS", "orders.x"]);
    assert.throws(() => replayRoute(target, "ORDERS", undefined), {
      message: /--subject is required: route "bare" declares no subject/,
    });
  });
});

function fakeIo(tty: boolean, env: NodeJS.ProcessEnv = {}): Io & { err(): string } {
  const stderr = Object.assign(new PassThrough(), { isTTY: tty, columns: 100 });
  let text = "";
  stderr.setEncoding("utf8").on("data", (s: string) => {
    text += s;
  });
  return {
    stdout: new PassThrough(),
    stderr: stderr as unknown as Io["stderr"],
    stdin: new PassThrough(),
    env,
    err: () => text,
  };
}

describe("cli progress", () => {
  it("draws a bar on a terminal", async () => {
    const io = fakeIo(true);
    const p = startProgress(io, "redriving");
    p.update(5, 10, "published 5");
    p.update(10, 10, "published 10");
    p.stop();
    await new Promise((r) => setImmediate(r));
    assert.match(io.err(), /redriving \[=+\] 10\/10 100% published 10/);
  });

  it("prints nothing when stderr is not a terminal", async () => {
    const io = fakeIo(false);
    const p = startProgress(io, "redriving");
    p.update(5, 10);
    p.stop();
    await new Promise((r) => setImmediate(r));
    assert.equal(io.err(), "");
  });

  it("JETROUTE_PROGRESS=lines prints plain lines, the last one at stop", async () => {
    const io = fakeIo(false, { JETROUTE_PROGRESS: "lines" });
    const p = startProgress(io, "replaying");
    p.update(1, 10);
    p.update(2, 10);
    p.update(3, 0, "handled 3");
    p.stop();
    await new Promise((r) => setImmediate(r));
    assert.equal(io.err(), "replaying: 1/10\nreplaying: 3/? handled 3\n");
  });
});

describe("cli output formats", () => {
  it("bytes and ages read like people write them", () => {
    assert.equal(formatBytes(230), "230 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    const now = new Date("2026-11-30T12:00:00Z");
    assert.equal(formatAgo(new Date("2026-11-30T11:59:30Z"), now), "30s ago");
    assert.equal(formatAgo(new Date("2026-11-30T10:00:00Z"), now), "2h ago");
    assert.equal(formatAgo(undefined, now), "never");
  });
});
