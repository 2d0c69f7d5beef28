import { Kvm } from "@nats-io/kv";
import { kvInbox, withInbox } from "../../src/index.js";
import { type ConsumeRound, jetrouteConsume } from "../consume-rounds.js";
import { alternateSides, median, pairedRatio } from "../rounds.js";
import { dropStream, prefilledStream } from "../support.js";
import type { BenchContext, Measure } from "../types.js";

const MESSAGES = Number(process.env.BENCH_INBOX_MESSAGES ?? 20_000);
const PREFETCH = 1000;
const STREAM = "BENCH_INBOX";
const SUBJECT = "bench.inbox";
const BUCKET = "bench_inbox";

const noop = async (): Promise<void> => {};

/**
 * What `withInbox(kvInbox())` costs: the consume + ack route (noop handler, pull batch 1000)
 * with and without a NATS KV inbox, alternated in the same run on the same stored messages.
 * Each message with the inbox adds two KV writes (the claim's create, the done marker's
 * update), each a JetStream publish the route waits for. Each inbox round is checked: every
 * message claimed and recorded once (no duplicate, busy or store error).
 */
export function inboxMeasure(concurrency: number): Measure {
  return {
    name: `consume-ack-inbox-kv-c${concurrency}`,
    description: `JetStream consume + ack with withInbox(kvInbox()) vs without, noop handler, concurrency ${concurrency}`,
    async run(ctx) {
      await prefilledStream(ctx, STREAM, SUBJECT, MESSAGES);
      const kvm = new Kvm(ctx.conn.jetstream);
      try {
        const rates = await alternateSides(ctx, {
          "no inbox": (round) =>
            jetrouteConsume(ctx, spec(`plain-c${concurrency}-${round}`, concurrency)),
          "kv inbox": (round) => inboxRound(ctx, `kv-c${concurrency}-${round}`, concurrency),
        });
        const on = rates["kv inbox"];
        const off = rates["no inbox"];
        const r = pairedRatio(on, off);
        return {
          raw: median(off),
          jetroute: median(on),
          ratio: r.ratio,
          ratioOf: "the same route without inbox",
          messages: MESSAGES,
          details: { "round ratios": r.ratioRange },
        };
      } finally {
        await dropStream(ctx, STREAM);
        await (await kvm.open(BUCKET)).destroy().catch(() => false);
      }
    },
  };
}

function spec(durable: string, concurrency: number, inbox = false): ConsumeRound {
  return {
    stream: STREAM,
    subject: SUBJECT,
    durable,
    messages: MESSAGES,
    concurrency,
    prefetch: PREFETCH,
    work: noop,
    routeOptions: inbox ? [withInbox(kvInbox({ bucket: BUCKET }))] : [],
  };
}

async function inboxRound(ctx: BenchContext, durable: string, concurrency: number) {
  const out = await jetrouteConsume(ctx, spec(durable, concurrency, true));
  const stats = out.broker.stats()[durable];
  const inbox = stats !== undefined && "inbox" in stats ? stats.inbox : undefined;
  if (
    inbox === undefined ||
    inbox.duplicates + inbox.busy + inbox.storeErrors !== 0 ||
    stats?.handled !== MESSAGES
  ) {
    throw new Error(`inbox round ${durable}: ${JSON.stringify(stats)}`);
  }
  return out;
}
