// The inbox: a route's handler runs at most once per message key (withInbox), with its stores:
// NATS KV (kvInbox) and PostgreSQL (pgInbox). The engine uses the gate; the rest is public.
export { type Gated, InboxGate } from "./gate.js";
export { defaultInboxKey, EVENT_ID_HEADER, kvToken } from "./key.js";
export { type KvInboxOptions, kvInbox } from "./kv/store.js";
export { withInbox } from "./option.js";
export { type InboxMigrationOptions, migrateInbox } from "./pg/migration.js";
export type { PgInboxClient, PgInboxPool, PgInboxResult, PgQueryable } from "./pg/sql.js";
export {
  type PgInbox,
  type PgInboxOptions,
  type PgInboxPurgeOptions,
  pgInbox,
} from "./pg/store.js";
export { InboxCounter } from "./stats.js";
export type {
  InboxEnv,
  InboxKey,
  InboxOptions,
  InboxSession,
  InboxSpec,
  InboxStats,
  InboxStore,
  InboxVerdict,
  InboxWork,
} from "./types.js";
