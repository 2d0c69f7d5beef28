import { randomUUID } from "node:crypto";
import type { KV } from "@nats-io/kv";
import type { Connection } from "../../conn/types.js";
import { type Duration, toTimerMillis } from "../../duration/index.js";
import { ErrInvalidDuration, ErrInvalidOption, invalidValueMessage } from "../../errors/index.js";
import type { Logger } from "../../logger/index.js";
import { kvToken } from "../key.js";
import type { InboxEnv, InboxSession, InboxStore, InboxVerdict, InboxWork } from "../types.js";
import { openBucket } from "./bucket.js";
import { claimKey, Lease, type Records, records } from "./claim.js";

/** Options of {@link kvInbox}. */
export interface KvInboxOptions {
  /**
   * The KV bucket (`[-_a-zA-Z0-9]+`), created when missing. Keys are namespaced by stream and
   * durable, so one bucket serves every route.
   * @default "jetroute_inbox"
   */
  readonly bucket?: string;
  /**
   * How long a processed key is remembered (the bucket's `max_age`, from a key's last write):
   * a copy of a message arriving later runs its handler again. Must be longer than `lease`. An
   * existing bucket must have exactly this `max_age` when `ttl` is given (any longer than the
   * lease when not).
   * @default "24h"
   */
  readonly ttl?: Duration;
  /**
   * How long a claim holds without renewal: a consumer renews its claims every third of it
   * while their handlers run, so a claim expires only when its holder crashed or stalled, and
   * is then taken over by the next delivery. At least 1s.
   * @default "30s"
   */
  readonly lease?: Duration;
}

const DEFAULTS = { bucket: "jetroute_inbox", ttl: "24h", lease: "30s" } as const;
const BUCKET = /^[-_a-zA-Z0-9]+$/;
const KNOWN = new Set(["bucket", "ttl", "lease"]);

/**
 * The NATS KV inbox store (the default store of {@link withInbox}): a key is claimed with an
 * atomic create (two consumers racing on a redelivery: one runs the handler, the other gets a
 * busy verdict), the claim records its owner and lease and is renewed while the handler runs,
 * a done marker replaces it when the handler succeeds, and a failure deletes it so the retry
 * runs. Works on nats-server 2.9.10 and later. `conn` defaults to the broker's connection.
 * @throws ErrInvalidOption for a bad bucket name or an unknown option, ErrInvalidDuration for a
 * bad `ttl` or `lease`
 * @example withInbox(kvInbox(conn, { bucket: "billing_inbox", ttl: "72h" }))
 */
export function kvInbox(options?: KvInboxOptions): InboxStore;
export function kvInbox(conn: Connection, options?: KvInboxOptions): InboxStore;
export function kvInbox(
  connOrOptions?: Connection | KvInboxOptions,
  maybeOptions?: KvInboxOptions,
): InboxStore {
  const conn = isConnection(connOrOptions) ? connOrOptions : undefined;
  const options = conn === undefined ? connOrOptions : maybeOptions;
  const o = checkOptions(options);
  return Object.freeze({
    kind: "nats-kv",
    open: async (env: InboxEnv): Promise<InboxSession<undefined>> => {
      const kv = await openBucket(conn ?? env.conn, o);
      const prefix = `${kvToken(env.stream)}.${kvToken(env.durable)}`;
      return new KvSession(kv, prefix, o.leaseMs, env.logger);
    },
  });
}

function isConnection(value: unknown): value is Connection {
  return (
    typeof value === "object" &&
    value !== null &&
    "nats" in value &&
    "jetstream" in value &&
    typeof (value as Connection).jetstreamManager === "function"
  );
}

interface Checked {
  readonly bucket: string;
  readonly ttlMs: number;
  readonly ttlSet: boolean;
  readonly leaseMs: number;
}

function checkOptions(options: unknown): Checked {
  const where = "kvInbox";
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null) {
    const expected = "an options object ({ bucket, ttl, lease })";
    throw new ErrInvalidOption(invalidValueMessage(where, options, expected));
  }
  for (const k of Object.keys(options)) {
    if (KNOWN.has(k)) continue;
    throw new ErrInvalidOption(
      invalidValueMessage(`${where} option "${k}"`, k, "one of bucket, ttl, lease"),
    );
  }
  const o = options as KvInboxOptions;
  const bucket = o.bucket ?? DEFAULTS.bucket;
  if (typeof bucket !== "string" || !BUCKET.test(bucket)) {
    const expected = "a KV bucket name of letters, digits, - and _";
    throw new ErrInvalidOption(invalidValueMessage(`${where} bucket`, bucket, expected));
  }
  const leaseMs = toTimerMillis(o.lease ?? DEFAULTS.lease, `${where} lease`);
  if (leaseMs < 1000) {
    throw new ErrInvalidDuration(invalidValueMessage(`${where} lease`, o.lease, "at least 1s"));
  }
  const ttlMs = toTimerMillis(o.ttl ?? DEFAULTS.ttl, `${where} ttl`);
  if (ttlMs <= leaseMs) {
    const expected = `longer than the lease (${leaseMs} ms)`;
    throw new ErrInvalidDuration(invalidValueMessage(`${where} ttl`, o.ttl, expected));
  }
  return { bucket, ttlMs, ttlSet: o.ttl !== undefined, leaseMs };
}

/** One route run on the bucket: its keys live under `<stream>.<durable>.`. */
class KvSession implements InboxSession<undefined> {
  readonly #kv: KV;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #log: Logger;
  readonly #rec: Records;
  /** Claims being held, stopped at close (a handler abandoned at shutdown never ends its own). */
  readonly #leases = new Set<Lease>();

  constructor(kv: KV, prefix: string, leaseMs: number, log: Logger) {
    this.#kv = kv;
    this.#prefix = prefix;
    this.#leaseMs = leaseMs;
    this.#log = log;
    // One owner per route run: a restarted process never mistakes an old claim for its own.
    this.#rec = records(randomUUID(), leaseMs);
  }

  async process(key: string, work: InboxWork<undefined>): Promise<InboxVerdict> {
    const k = `${this.#prefix}.${kvToken(key)}`;
    const claimed = await claimKey(this.#kv, k, this.#rec);
    if (claimed.kind === "done") return { kind: "duplicate" };
    if (claimed.kind === "busy") return claimed;
    const lease = new Lease(this.#kv, k, this.#rec, claimed.revision, this.#leaseMs, this.#log);
    this.#leases.add(lease);
    let ok: boolean;
    try {
      ok = await work(undefined);
    } catch (err) {
      await lease.end(false);
      throw err;
    } finally {
      this.#leases.delete(lease);
    }
    const end = await lease.end(ok);
    return {
      kind: "processed",
      takenOver: claimed.takenOver,
      leaseLost: end.lost && ok,
      recordError: end.error,
    };
  }

  async close(): Promise<void> {
    for (const lease of this.#leases) lease.stop();
    this.#leases.clear();
  }
}
