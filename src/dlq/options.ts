// The option keys each dead-letter operation accepts. Written as records over the option types
// so that a key added to (or removed from) an interface fails to compile until it is listed here.
import { checkKeys } from "../options/index.js";
import type { ListDeadLettersOptions, PurgeOptions, RedriveOptions } from "./types.js";

const LIST: Record<keyof ListDeadLettersOptions, true> = {
  filter: true,
  signal: true,
  limit: true,
};
const PURGE: Record<keyof PurgeOptions, true> = { filter: true, signal: true, throughSeq: true };
const REDRIVE: Record<keyof RedriveOptions, true> = {
  filter: true,
  signal: true,
  to: true,
  dryRun: true,
  keep: true,
  allConsumers: true,
  limit: true,
  onProgress: true,
};

const KEYS = {
  listDeadLetters: Object.keys(LIST),
  iterateDeadLetters: Object.keys(LIST),
  purgeDeadLetters: Object.keys(PURGE),
  redriveDeadLetters: Object.keys(REDRIVE),
} as const;

/**
 * Refuses an options object with a key `operation` does not know (`{ filters: ... }` would
 * otherwise purge or redrive every letter): ErrInvalidOption naming the key and the known ones.
 */
export function checkOptionKeys(options: unknown, operation: keyof typeof KEYS): void {
  checkKeys(options, KEYS[operation], operation);
}
