import type { NatsConnection } from "@nats-io/transport-node";
import {
  Broker,
  route,
  withConcurrency,
  withConnection,
  withRequestReply,
  withShutdownTimeout,
  withSubject,
} from "../../src/index.js";
import { alternate, median } from "../rounds.js";
import { quantile, rawConnection } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL_REQUESTS ?? 2_000);
const IN_FLIGHT = 256;
const THROUGHPUT_ROUNDS = (ctx: BenchContext) => Math.max(ctx.rounds, 9);
const CONCURRENCY = IN_FLIGHT;
const payload = new Uint8Array(64).fill(97);

/**
 * Request-reply: an echo responder as a Broker request-reply route (concurrency 256) vs raw
 * `nc.subscribe(subject, { callback: (_, m) => m.respond(m.data) })`. One requester connection
 * (same options) serves both sides. Throughput with 256 requests in flight is the ratio (goal
 * 0.95); sequential round trips give p50/p99 latency, and the p99 overhead (jetroute - raw).
 */
export const measure: Measure = {
  name: "request-reply",
  description: `core request-reply echo, ${IN_FLIGHT} in flight; sequential latency p50/p99`,
  async run(ctx) {
    const requester = await rawConnection(ctx);
    const stopRaw = rawResponder(ctx.raw.nc, "bench.rr.raw");
    const jr = await jetrouteResponder(ctx, "bench.rr.jr");
    try {
      await requester.flush();
      // Rounds swing +/-15% here while jetroute's own share of the work is ~5% (the requester,
      // shared by both sides, is most of the CPU), so this measure takes more rounds.
      const throughput = await alternate(
        { ...ctx, rounds: THROUGHPUT_ROUNDS(ctx) },
        () => windowed(requester, "bench.rr.raw"),
        () => windowed(requester, "bench.rr.jr"),
      );
      const lat = { raw: [] as number[][], jetroute: [] as number[][] };
      // Warm-up, then alternate like the throughput rounds.
      await sequential(requester, "bench.rr.raw", 200);
      await sequential(requester, "bench.rr.jr", 200);
      for (let round = 1; round <= ctx.rounds; round++) {
        lat.raw.push(await sequential(requester, "bench.rr.raw", SEQUENTIAL));
        lat.jetroute.push(await sequential(requester, "bench.rr.jr", SEQUENTIAL));
      }
      const p = (side: number[][], q: number) => median(side.map((r) => quantile(r, q)));
      const rawP99 = p(lat.raw, 0.99);
      const jrP99 = p(lat.jetroute, 0.99);
      return {
        raw: throughput.raw,
        jetroute: throughput.jetroute,
        ratio: throughput.ratio,
        rounds: THROUGHPUT_ROUNDS(ctx),
        goal: 0.95,
        messages: REQUESTS,
        unit: "req/s",
        details: {
          "round ratios": throughput.ratioRange,
          "raw p50 ms": ms(p(lat.raw, 0.5)),
          "raw p99 ms": ms(rawP99),
          "jetroute p50 ms": ms(p(lat.jetroute, 0.5)),
          "jetroute p99 ms": ms(jrP99),
          "p99 overhead ms": ms(jrP99 - rawP99),
          "p50 overhead ms": ms(p(lat.jetroute, 0.5) - p(lat.raw, 0.5)),
        },
      };
    } finally {
      stopRaw();
      await jr.stop();
      await requester.close();
    }
  },
};

function ms(v: number): number {
  return Number(v.toFixed(3));
}

/** The raw responder as the nats.js examples write it. */
function rawResponder(nc: NatsConnection, subject: string): () => void {
  const sub = nc.subscribe(subject, {
    callback: (err, m) => {
      if (err === null) m.respond(m.data);
    },
  });
  return () => sub.unsubscribe();
}

async function jetrouteResponder(ctx: BenchContext, subject: string) {
  const broker = new Broker(withConnection(ctx.conn), withShutdownTimeout("5s")).register(
    route(
      "bench-echo",
      async (m) => m.data,
      withSubject(subject),
      withRequestReply(),
      withConcurrency(CONCURRENCY),
    ),
  );
  const stop = new AbortController();
  const running = broker.run(stop.signal);
  await Promise.race([broker.started(), running]);
  return {
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

/** REQUESTS requests with IN_FLIGHT outstanding at any time. */
async function windowed(nc: NatsConnection, subject: string) {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < REQUESTS) {
      next++;
      await nc.request(subject, payload, { timeout: 10_000 });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return { messages: REQUESTS, ms: performance.now() - started };
}

/** Round-trip times (ms) of `n` requests sent one after another. */
async function sequential(nc: NatsConnection, subject: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await nc.request(subject, payload, { timeout: 10_000 });
    times.push(performance.now() - t0);
  }
  return times;
}
