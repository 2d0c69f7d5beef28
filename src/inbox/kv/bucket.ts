import { JetStreamApiError } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { Connection } from "../../conn/types.js";
import { ErrInboxStoreConflict, ErrInboxStoreFailed } from "../../errors/index.js";

/** JetStream's "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

/** How the inbox wants its bucket. */
export interface BucketWanted {
  readonly bucket: string;
  /** Entries' max age, ms. */
  readonly ttlMs: number;
  /** True when the caller chose `ttl`: an existing bucket must then have exactly it. */
  readonly ttlSet: boolean;
  readonly leaseMs: number;
}

/**
 * Opens the inbox's KV bucket, creating it when missing (history 1, `max_age` = ttl; works on
 * nats-server 2.9.10, which has no per-key TTL). An existing bucket is checked, not changed.
 * @throws ErrInboxStoreConflict when the bucket exists with another TTL than the one asked
 * for, or one not longer than the lease (claims and done markers would age out under a live
 * claim), or when another process creates it at the same moment with other settings
 * @throws ErrInboxStoreFailed when JetStream refuses or cannot be reached
 */
export async function openBucket(conn: Connection, want: BucketWanted): Promise<KV> {
  let kv: KV;
  try {
    kv = await new Kvm(conn.jetstream).create(want.bucket, { history: 1, ttl: want.ttlMs });
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE) {
      throw new ErrInboxStoreConflict(
        `inbox bucket "${want.bucket}" was created at the same time with other settings (another ttl?): give every consumer of it the same kvInbox options`,
        { cause: err },
      );
    }
    throw new ErrInboxStoreFailed(`inbox bucket "${want.bucket}" could not be opened`, {
      cause: err,
    });
  }
  let ttlMs: number;
  try {
    ttlMs = (await kv.status()).ttl;
  } catch (err) {
    throw new ErrInboxStoreFailed(`inbox bucket "${want.bucket}" could not be read`, {
      cause: err,
    });
  }
  checkTtl(want, ttlMs);
  return kv;
}

function checkTtl(want: BucketWanted, ttlMs: number): void {
  const fix = `use another bucket, or the bucket's own ttl (${ttlMs === 0 ? "none" : `${ttlMs} ms`})`;
  if (want.ttlSet && ttlMs !== want.ttlMs) {
    throw new ErrInboxStoreConflict(
      `inbox bucket "${want.bucket}" exists with max_age ${ttlMs} ms, not the ttl ${want.ttlMs} ms asked for: ${fix} (a bucket's max_age is not changed by jetroute)`,
    );
  }
  if (ttlMs !== 0 && ttlMs <= want.leaseMs) {
    throw new ErrInboxStoreConflict(
      `inbox bucket "${want.bucket}" has max_age ${ttlMs} ms, not longer than the lease ${want.leaseMs} ms: claims and done markers would age out while in use; ${fix} with a shorter lease`,
    );
  }
}
