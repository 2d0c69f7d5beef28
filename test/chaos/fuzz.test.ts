// Chaos: fuzzed bad input thrown at the public API. Every call either succeeds or fails with a
// typed JetrouteError (a known `code`); nothing crashes and no promise rejection goes unhandled.
// Inputs come from a seeded PRNG: set CHAOS_SEED to replay a failure (the seed is in every
// failure message).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { inspect } from "node:util";
import { headers as natsHeaders } from "@nats-io/nats-core";
import {
  Broker,
  connect,
  createProducer,
  DeadLetterHeader,
  ErrorCode,
  ensureStream,
  exponential,
  fixed,
  JetrouteError,
  linear,
  route,
  toMillis,
  withAckWait,
  withBackoff,
  withBrokerMiddleware,
  withConcurrency,
  withConnection,
  withDLQ,
  withDuplicateWindow,
  withDurable,
  withErrorPolicy,
  withMaxAckPending,
  withMaxAge,
  withMaxDeliver,
  withMaxMsgs,
  withPrefetch,
  withPublishRetries,
  withReplicas,
  withRetention,
  withServers,
  withShutdownTimeout,
  withStorage,
  withStream,
  withSubject,
  withSubjects,
} from "../../src/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { useChaosBench, waitFor } from "./support.js";

checkLeaksAfterAll();

const SEED = Number(process.env.CHAOS_SEED ?? 0x5eed);

/** mulberry32: tiny, fast, and the same sequence for the same seed on every platform. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  const text = (alphabet: string, max: number): string =>
    Array.from({ length: int(max + 1) }, () => alphabet[int(alphabet.length)]).join("");
  return { next, int, pick, bytes, text };
}

const circular: Record<string, unknown> = {};
circular.self = circular;

/** Values no option or argument expects. */
const WEIRD: readonly unknown[] = [
  undefined,
  null,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1,
  0,
  -0,
  0.5,
  1.5,
  2 ** 53,
  1e308,
  "",
  " ",
  "abc",
  "10xs",
  "-5s",
  "1e400ms",
  "5 s",
  "NaN",
  {},
  [],
  [1, 2],
  () => {},
  Symbol("weird"),
  10n,
  true,
  new Date(0),
  Object.create(null),
  circular,
];

const SUBJECT_ALPHABET = "ab.*> \t\r\n\u0000\u007fé$_-:";

type Fuzz = ReturnType<typeof prng>;

const weirdOrNumber = (r: Fuzz): unknown =>
  r.next() < 0.6 ? r.pick(WEIRD) : r.pick([1, 2, 16, 1_000, r.int(2_000) - 1_000]);
const weirdOrDuration = (r: Fuzz): unknown =>
  r.next() < 0.6
    ? r.pick(WEIRD)
    : r.pick(["1s", "250ms", "2m", "1h", 10, r.text("0123456789smhu.-", 5)]);
const randomSubject = (r: Fuzz): unknown =>
  r.next() < 0.15 ? r.pick(WEIRD) : r.text(SUBJECT_ALPHABET, 10);

/** True for a string the server would take as a literal publish subject. */
function validLiteral(s: unknown): boolean {
  if (typeof s !== "string" || s.length === 0) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are invalid here
  if (/[\s\x00-\x1f\x7f]/.test(s)) return false;
  return s.split(".").every((t) => t.length > 0 && t !== "*" && t !== ">");
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

describe("chaos: fuzzed bad input at the public API", { timeout: 120_000 }, async () => {
  const server = await useServer();
  const conn = await connect(withServers(server.url));
  after(() => conn.close());
  // One attempt: a fuzzed subject no stream listens on fails at once instead of retrying.
  const producer = createProducer(conn, withPublishRetries(1));
  const bench = useChaosBench();

  const unhandled: unknown[] = [];
  const uncaught: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  // The monitor sees an uncaught exception without changing how the process handles it.
  const onUncaught = (err: unknown): void => {
    uncaught.push(err);
  };
  // A value too large for a timer is silently turned into 1 ms by Node, with only a warning:
  // a bad value that must have been refused.
  const overflows: string[] = [];
  const onWarning = (w: Error): void => {
    if (w.name === "TimeoutOverflowWarning") overflows.push(w.stack ?? w.message);
  };
  before(() => {
    process.on("warning", onWarning);
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtExceptionMonitor", onUncaught);
  });
  after(() => {
    process.off("warning", onWarning);
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtExceptionMonitor", onUncaught);
  });

  /** Calls not typed-failing, with their inputs, for the assertion message. */
  const untyped: string[] = [];
  let calls = 0;
  let typedFailures = 0;

  /** Runs one fuzzed call; returns "ok" or the typed error's code, and records anything else. */
  beforeEach(() => {
    // Each test asserts on its own calls.
    untyped.length = 0;
  });

  async function attempt(label: string, fn: () => unknown): Promise<string> {
    calls++;
    try {
      await fn();
      return "ok";
    } catch (err) {
      if (err instanceof JetrouteError && KNOWN_CODES.has(err.code)) {
        typedFailures++;
        return err.code;
      }
      untyped.push(`seed ${SEED} ${label}: ${inspect(err, { depth: 1 }).slice(0, 300)}`);
      return "untyped";
    }
  }

  const show = (v: unknown): string => inspect(v, { depth: 0, breakLength: Infinity });

  before(async () => {
    await ensureStream(conn, "FZ", withSubjects("fz.>"));
    await ensureStream(conn, "FZ_DLQ", withSubjects("fzdlq"));
  });

  it("JetStream and core publishes with fuzzed subjects, payloads, headers and options fail only with typed errors", async () => {
    const r = prng(SEED);
    const wrongCode: string[] = [];
    for (let i = 0; i < 300; i++) {
      const subject = r.next() < 0.3 ? `fz.${r.text("abc", 3) || "x"}` : randomSubject(r);
      const payload = r.pick<unknown>([
        r.bytes(r.int(64)),
        r.text('{}[]":,abc01 \\', 20),
        { id: i },
        circular,
        10n,
        Symbol("p"),
        undefined,
        () => {},
      ]);
      const headers =
        r.next() < 0.5
          ? undefined
          : r.next() < 0.2
            ? r.pick(WEIRD)
            : {
                [r.text("Ab-:\r\n é\u0000", 8)]:
                  r.next() < 0.7 ? r.text("v \r\n:", 8) : r.pick(WEIRD),
              };
      const options: Record<string, unknown> = {};
      if (headers !== undefined) options.headers = headers;
      if (r.next() < 0.3) options.msgId = r.pick(WEIRD);
      if (r.next() < 0.3) options.timeoutMs = weirdOrNumber(r);
      if (r.next() < 0.2) options.expectLastSequence = weirdOrNumber(r);
      const label = `#${i} publishJetStream(${show(subject)}, ${show(payload)}, ${show(options)})`;
      const code = await attempt(label, () =>
        producer.publishJetStream(subject as never, payload, options as never),
      );
      if (!validLiteral(subject) && code !== ErrorCode.InvalidSubject && code !== "untyped") {
        // An invalid subject must be refused as such (other bad input may be checked first).
        if (code === "ok") wrongCode.push(`${label} -> ${code}`);
      }
      await attempt(`#${i} publish(${show(subject)}, ${show(payload)}, ${show(options)})`, () =>
        producer.publish(subject as never, payload, options as never),
      );
    }
    assert.deepEqual(untyped, []);
    assert.deepEqual(wrongCode, []);
  });

  it("a payload over max_payload fails with a typed error, for core and JetStream publishes and requests", async () => {
    const max = conn.nats.info?.max_payload ?? 1024 * 1024;
    const big = randomBytes(max + 1);
    const codes = [
      await attempt("publishJetStream(max_payload + 1)", () =>
        producer.publishJetStream("fz.big", big),
      ),
      await attempt("publish(max_payload + 1)", () => producer.publish("fz.big", big)),
      await attempt("request(max_payload + 1)", () => producer.request("fz.big", big)),
    ];
    assert.deepEqual(untyped, []);
    assert.equal(codes.includes("ok"), false, `codes: ${codes.join(", ")}`);
  });

  it("requests with fuzzed subjects, options and garbage replies fail only with typed errors", async () => {
    const r = prng(SEED + 1);
    // A responder that answers with garbage: random bytes, broken JSON, odd service-error headers.
    const sub = conn.nats.subscribe("fzreq.garbage", {
      callback: (_err, m) => {
        const kind = m.data[0] ?? 0;
        if (kind % 3 === 0) m.respond(r.bytes(r.int(32)));
        else if (kind % 3 === 1) m.respond(new TextEncoder().encode(r.text('{[":,a1', 12)));
        else {
          const h = natsHeaders();
          h.set("Nats-Service-Error-Code", r.text("0123x-", 4) || "x");
          if (r.next() < 0.5) h.set("Nats-Service-Error", r.text("oops é", 12) || "-");
          m.respond(new Uint8Array(), { headers: h });
        }
      },
    });
    try {
      for (let i = 0; i < 150; i++) {
        const toGarbage = r.next() < 0.5;
        const subject = toGarbage ? "fzreq.garbage" : randomSubject(r);
        const options: Record<string, unknown> = { timeoutMs: 500 };
        if (r.next() < 0.3) options.timeoutMs = weirdOrNumber(r);
        if (r.next() < 0.2) options.headers = r.pick(WEIRD);
        const payload = toGarbage ? Uint8Array.of(r.int(256)) : r.pick<unknown>([{ i }, circular]);
        await attempt(`#${i} request(${show(subject)}, ${show(payload)}, ${show(options)})`, () =>
          producer.request(subject as never, payload, options as never),
        );
      }
    } finally {
      sub.unsubscribe();
    }
    assert.deepEqual(untyped, []);
  });

  it("route(), Broker and register() with fuzzed option values throw only typed errors, synchronously", async () => {
    const r = prng(SEED + 2);
    const factories: ReadonlyArray<(r: Fuzz) => unknown> = [
      (r) => withConcurrency(weirdOrNumber(r) as number),
      (r) => withPrefetch(weirdOrNumber(r) as number),
      (r) => withMaxAckPending(weirdOrNumber(r) as number),
      (r) => withMaxDeliver(weirdOrNumber(r) as number),
      (r) => withAckWait(weirdOrDuration(r) as never),
      (r) => withDurable(randomSubject(r) as never),
      (r) => withDLQ(randomSubject(r) as never),
      (r) => withSubject(randomSubject(r) as never),
      (r) => withStream(r.text("AB.* >\t", 6)),
      (r) => withErrorPolicy(r.pick(["retry", "terminate", ...WEIRD]) as "retry"),
      (r) => withBackoff(fixed(weirdOrDuration(r) as never)),
      (r) =>
        withBackoff(
          exponential({
            initial: weirdOrDuration(r) as never,
            max: weirdOrDuration(r) as never,
            jitter: weirdOrNumber(r) as number,
          }),
        ),
      (r) =>
        withBackoff(
          linear({
            initial: weirdOrDuration(r) as never,
            step: weirdOrDuration(r) as never,
            max: weirdOrDuration(r) as never,
          }),
        ),
      (r) => r.pick(WEIRD),
    ];
    for (let i = 0; i < 300; i++) {
      const name = r.next() < 0.8 ? `r${i}` : r.pick(WEIRD);
      const handler = r.next() < 0.9 ? async () => {} : r.pick(WEIRD);
      const options: unknown[] = [withStream("FZ"), withSubject("fz.route")];
      for (let k = r.int(4); k > 0; k--) {
        try {
          options.push(r.pick(factories)(r));
        } catch (err) {
          // A backoff builder may refuse its input right away: that must be typed too.
          await attempt(`#${i} option builder`, () => {
            throw err;
          });
        }
      }
      const brokerOptions = [withConnection(conn)];
      if (r.next() < 0.2) brokerOptions.push(withShutdownTimeout(weirdOrDuration(r) as never));
      if (r.next() < 0.1) brokerOptions.push(withBrokerMiddleware(r.pick(WEIRD) as never));
      const label = `#${i} route(${show(name)}, ${show(handler)}, ...${show(options)})`;
      let sync = true;
      await attempt(label, () => {
        const result = new Broker(...brokerOptions).register(
          route(name as never, handler as never, ...(options as never[])),
        );
        sync = !(result instanceof Promise);
      });
      assert.ok(sync, `${label} returned a promise`);
    }
    assert.deepEqual(untyped, []);
  });

  it("ensureStream and durations with fuzzed names, subjects and option values fail only with typed errors", async () => {
    const r = prng(SEED + 3);
    for (let i = 0; i < 120; i++) {
      const name = r.next() < 0.5 ? `FZS${i}${r.text("ab.* >\t/", 3)}` : r.pick(WEIRD);
      // Subjects stay under "fzs." (or are plain junk): a fuzzed ">" must not swallow the file.
      const subjects = Array.from({ length: r.int(3) }, () =>
        r.next() < 0.8 ? `fzs.${i}.${r.text("ab.*> \t", 4)}` : r.pick(WEIRD),
      );
      const options = [withSubjects(...(subjects as string[]))];
      if (r.next() < 0.3) options.push(withReplicas(weirdOrNumber(r) as number));
      if (r.next() < 0.3) options.push(withMaxAge(weirdOrDuration(r) as never));
      if (r.next() < 0.3) options.push(withDuplicateWindow(weirdOrDuration(r) as never));
      if (r.next() < 0.3) options.push(withMaxMsgs(weirdOrNumber(r) as number));
      if (r.next() < 0.2) options.push(withRetention(r.pick(["limits", ...WEIRD]) as "limits"));
      if (r.next() < 0.2) options.push(withStorage(r.pick(["memory", ...WEIRD]) as "memory"));
      if (r.next() < 0.1) options.push(r.pick(WEIRD) as never);
      await attempt(`#${i} ensureStream(${show(name)}, ${show(subjects)})`, () =>
        ensureStream(conn, name as never, ...options),
      );
      const value = weirdOrDuration(r);
      await attempt(`#${i} toMillis(${show(value)})`, () => toMillis(value as never, "fuzz"));
    }
    assert.deepEqual(untyped, []);
  });

  it("a route fed random bytes, invalid JSON and odd headers keeps running: each message is processed or dead-lettered", async () => {
    const started = performance.now();
    const r = prng(SEED + 4);
    // Junk can parse as JSON too ("1", "{}"): count handler successes, not distinct `n`s.
    let handled = 0;
    const processed = new Set<unknown>();
    const controller = new AbortController();
    const broker = new Broker(withConnection(conn)).register(
      route(
        "fuzzed",
        async (msg) => {
          // Touch everything a handler might: headers, text, JSON (throws ErrDecode on junk).
          for (const [k, v] of msg.headers) void `${k}${v.join()}`;
          void msg.header("X-Fuzz");
          void msg.string();
          const body = msg.json<{ n?: unknown } | null>();
          processed.add(body?.n);
          handled++;
        },
        withStream("FZ"),
        withSubject("fz.in"),
        withDLQ("fzdlq"),
        withErrorPolicy("terminate"),
        withConcurrency(8),
      ),
    );
    const running = broker.run(controller.signal);
    let runError: unknown;
    running.catch((err: unknown) => {
      runError = err;
    });
    await broker.started();
    let stored = 0;
    const valid: number[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = r.int(3);
      const payload =
        kind === 0
          ? r.bytes(r.int(100))
          : kind === 1
            ? new TextEncoder().encode(r.text('{}[]":,n01 \\', 16))
            : { n: i };
      const headers =
        r.next() < 0.5 ? { [`X-${r.text("Fuzab-", 6)}`]: r.text("v=;,/ é\t", 10) } : undefined;
      const code = await attempt(`#${i} feed`, () =>
        producer.publishJetStream("fz.in", payload, headers === undefined ? {} : { headers }),
      );
      if (code === "ok") {
        stored++;
        if (kind === 2) valid.push(i);
      }
    }
    const jsm = await conn.jetstreamManager();
    let dead = 0;
    await waitFor(
      "every fed message processed or dead-lettered",
      async () => {
        dead = (await jsm.streams.info("FZ_DLQ")).state.messages;
        return handled + dead >= stored;
      },
      30_000,
      () => `${handled} processed + ${dead} dead of ${stored}`,
    );
    controller.abort();
    await running.catch(() => {});
    // Dead letters carry the decode error as their reason.
    if (dead > 0) {
      const first = await jsm.streams.getMessage("FZ_DLQ", { seq: 1 });
      assert.ok(first?.header?.get(DeadLetterHeader.Error));
    }
    bench.report({
      scenario: "fuzzed input to a route",
      published: stored,
      processed: handled,
      lost: stored - handled - dead,
      duplicated: "-",
      ms: performance.now() - started,
      note: `${dead} dead-lettered; ${calls} fuzzed calls, ${typedFailures} typed errors (seed ${SEED})`,
    });
    assert.equal(runError, undefined);
    for (const n of valid) assert.ok(processed.has(n), `valid message ${n} was processed`);
    assert.equal(handled + dead, stored);
    assert.deepEqual(untyped, []);
  });

  it("no promise rejection went unhandled and no exception went uncaught", async () => {
    // Unhandled rejections are reported after the microtask queue drains: give them a turn.
    await sleep(200);
    assert.deepEqual(unhandled, []);
    assert.deepEqual(uncaught, []);
  });

  it("no fuzzed timeout overflowed a timer (a huge value is refused, not turned into 1 ms)", async () => {
    await sleep(10);
    assert.deepEqual(overflows, [], `seed ${SEED}`);
  });
});
