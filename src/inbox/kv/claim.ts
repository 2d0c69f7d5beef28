import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import { ErrInboxStoreFailed } from "../../errors/index.js";
import type { Logger } from "../../logger/index.js";

// A key's entry is a claim `{"s":"claim","o":owner,"l":leaseMs}` or a done marker
// `{"s":"done","o":owner}`; a deleted key (DEL marker) or none at all is free. Every change is
// a compare-and-swap on the key's last revision, so of two consumers racing on one key exactly
// one wins each step.

const encoder = new TextEncoder();

/** Serialized records of one owner. */
export interface Records {
  readonly claim: Uint8Array;
  readonly done: Uint8Array;
}

export function records(owner: string, leaseMs: number): Records {
  return {
    claim: encoder.encode(JSON.stringify({ s: "claim", o: owner, l: leaseMs })),
    done: encoder.encode(JSON.stringify({ s: "done", o: owner })),
  };
}

/** What trying to claim a key found. */
export type ClaimResult =
  | { readonly kind: "claimed"; readonly revision: number; readonly takenOver: boolean }
  | { readonly kind: "done" }
  | { readonly kind: "busy"; readonly retryInMs: number };

/** Rounds of create / read / take over before giving up on a key everybody is fighting for. */
const ATTEMPTS = 5;
/** Floor of a busy delay: the holder's clock and ours may differ by a little. */
const MIN_BUSY_MS = 100;
/** Added to a busy delay so the redelivery comes after the holder's lease, not at its edge. */
const BUSY_MARGIN_MS = 50;

/** True for JetStream's "wrong last sequence": the key changed since the revision we had. */
export function isWrongRevision(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * Claims `key`: an atomic create; when the key exists, a done marker means processed, a claim
 * whose lease is still running means busy, and an expired claim is taken over with an update on
 * its revision. A lease runs from the claim's last write as the server stamped it
 * (`entry.created`), so only this process's clock and the server's are compared.
 * @throws ErrInboxStoreFailed when the bucket cannot be reached, or holds something else
 */
export async function claimKey(kv: KV, key: string, rec: Records): Promise<ClaimResult> {
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        return { kind: "claimed", revision: await kv.create(key, rec.claim), takenOver: false };
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
      }
      const entry = await kv.get(key);
      // Deleted or aged out between the create and the read: create again.
      if (entry === null || entry.operation !== "PUT") continue;
      const found = parseRecord(entry, key);
      if (found.s === "done") return { kind: "done" };
      const left = entry.created.getTime() + found.l - Date.now();
      if (left > 0)
        return { kind: "busy", retryInMs: Math.max(MIN_BUSY_MS, left + BUSY_MARGIN_MS) };
      try {
        const revision = await kv.update(key, rec.claim, entry.revision);
        return { kind: "claimed", revision, takenOver: true };
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
      }
    }
  } catch (err) {
    if (err instanceof ErrInboxStoreFailed) throw err;
    throw new ErrInboxStoreFailed(`inbox could not claim key "${key}"`, { cause: err });
  }
  throw new ErrInboxStoreFailed(
    `inbox could not claim key "${key}": it changed under each of ${ATTEMPTS} attempts`,
  );
}

type Parsed = { readonly s: "done" } | { readonly s: "claim"; readonly l: number };

function parseRecord(entry: KvEntry, key: string): Parsed {
  let v: unknown;
  try {
    v = entry.json();
  } catch {
    v = undefined;
  }
  const r = v as { s?: unknown; l?: unknown } | undefined;
  if (r?.s === "done") return { s: "done" };
  if (r?.s === "claim" && typeof r.l === "number" && r.l > 0) return { s: "claim", l: r.l };
  throw new ErrInboxStoreFailed(
    `inbox key "${key}" holds ${JSON.stringify(entry.string().slice(0, 80))}, not an inbox record: is the bucket shared with something else?`,
  );
}

/** How a held claim ended. */
export interface LeaseEnd {
  /** The claim had been taken over by another consumer before the end. */
  readonly lost: boolean;
  /** Recording the result failed (the claim stays until its lease expires). */
  readonly error: unknown;
}

/**
 * A claim being held: renewed (rewritten on its revision) every third of the lease while the
 * handler runs, so only a crashed or stalled holder's claim expires. A renewal that finds the
 * revision moved means the claim was taken over: the lease is lost and no longer renewed.
 */
export class Lease {
  readonly #kv: KV;
  readonly #key: string;
  readonly #rec: Records;
  readonly #everyMs: number;
  readonly #log: Logger;
  #revision: number;
  #lost = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The renewal in flight, if any: the end waits for it so two writes never race. */
  #renewing: Promise<void> | undefined;

  constructor(kv: KV, key: string, rec: Records, revision: number, leaseMs: number, log: Logger) {
    this.#kv = kv;
    this.#key = key;
    this.#rec = rec;
    this.#revision = revision;
    this.#everyMs = Math.max(1, Math.floor(leaseMs / 3));
    this.#log = log;
    this.#schedule();
  }

  /** Stops renewing without touching the claim (it expires after its lease). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /**
   * Ends the claim: `ok` writes the done marker, otherwise the claim is deleted so a
   * redelivery can run at once; both on the claim's revision, so a claim taken over is left to
   * its new holder.
   */
  async end(ok: boolean): Promise<LeaseEnd> {
    this.stop();
    await this.#renewing;
    if (this.#lost) return { lost: true, error: undefined };
    try {
      if (ok) await this.#kv.update(this.#key, this.#rec.done, this.#revision);
      else await this.#kv.delete(this.#key, { previousSeq: this.#revision });
      return { lost: false, error: undefined };
    } catch (err) {
      if (isWrongRevision(err)) return { lost: true, error: undefined };
      return { lost: false, error: err };
    }
  }

  #schedule(): void {
    if (this.#stopped || this.#lost) return;
    this.#timer = setTimeout(() => {
      this.#renewing = this.#renew().finally(() => {
        this.#renewing = undefined;
        this.#schedule();
      });
    }, this.#everyMs);
  }

  async #renew(): Promise<void> {
    try {
      this.#revision = await this.#kv.update(this.#key, this.#rec.claim, this.#revision);
    } catch (err) {
      if (isWrongRevision(err)) {
        this.#lost = true;
        this.#log.error(
          { key: this.#key },
          "inbox claim was taken over while its handler ran (stalled past its lease?)",
        );
      } else {
        // Tried again next third; the claim is safe until the whole lease passes.
        this.#log.warn({ err, key: this.#key }, "inbox claim renewal failed");
      }
    }
  }
}
