import { randomFillSync } from "node:crypto";

// Random bytes drawn in blocks: one getrandom call per 256 ids instead of one per id.
const POOL = new Uint8Array(256 * 8);
let poolAt = POOL.length;
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, "0"),
);

let lastMs = -1;
let counter = 0;

function random(n: number): number {
  if (poolAt + n > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}

/**
 * A new event id: a UUID version 7 (RFC 9562), e.g. `0193b6e4-5f1e-7c3a-9d2b-4f6a8e1c2d3b`.
 * Its first 48 bits are the Unix time in ms, so ids sort by creation time (a B-tree index on
 * them, such as an outbox or inbox table's key, stays append-mostly); the next 12 bits are a
 * counter seeded at random each millisecond, so ids made in one process within one millisecond
 * still sort in creation order (RFC 9562 method 1); 62 bits are random. A UUID rather than a
 * NATS nuid because an event id leaves NATS: PostgreSQL stores it as `uuid`, every language
 * parses it, and it tells when the event was made.
 * @example const id = newEventId(); // "0193b6e4-5f1e-7c3a-9d2b-4f6a8e1c2d3b"
 */
export function newEventId(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    // Seeded below 0x800 so a millisecond has at least 2048 ids before the counter overflows.
    const at = random(2);
    counter = (((POOL[at] as number) << 8) | (POOL[at + 1] as number)) & 0x7ff;
  } else {
    // Same millisecond (or the clock stepped back): keep counting on the last one.
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    ms = lastMs;
  }
  const at = random(8);
  const p = POOL;
  const hi = Math.floor(ms / 0x1000000); // the top 24 of 48 bits
  const lo = ms % 0x1000000;
  return (
    HEX[(hi >>> 16) & 0xff] +
    (HEX[(hi >>> 8) & 0xff] as string) +
    HEX[hi & 0xff] +
    HEX[(lo >>> 16) & 0xff] +
    "-" +
    HEX[(lo >>> 8) & 0xff] +
    HEX[lo & 0xff] +
    "-" +
    HEX[0x70 | (counter >>> 8)] +
    HEX[counter & 0xff] +
    "-" +
    HEX[0x80 | ((p[at] as number) & 0x3f)] +
    HEX[p[at + 1] as number] +
    "-" +
    HEX[p[at + 2] as number] +
    HEX[p[at + 3] as number] +
    HEX[p[at + 4] as number] +
    HEX[p[at + 5] as number] +
    HEX[p[at + 6] as number] +
    HEX[p[at + 7] as number]
  );
}
