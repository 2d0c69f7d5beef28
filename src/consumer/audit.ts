import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import type { ServerVersion } from "../conn/index.js";
import { ErrConsumerConfigConflict } from "../errors/index.js";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { checkConsumer, describeChange, type StreamFacts } from "./contract.js";

/**
 * Settings that, edited under a running route, lose or corrupt work: a `max_deliver` cap
 * strands a failing message for good, a `backoff` list shortens `ack_wait` (handlers run twice),
 * `headers_only` empties payloads, an `inactive_threshold` gets the durable deleted while the
 * service is down (it then starts over from the stream's first message). Others the engine owns (`ack_wait`, `max_ack_pending`,
 * metadata) are left to the next start: two versions of a service in a rolling deploy may
 * legitimately differ on them, and restoring them would flip the durable back and forth.
 */
const GUARDED = new Set(["max_deliver", "backoff", "headers_only", "inactive_threshold"]);

/** What an audit needs: the server and stream provisioning found, and where to report. */
export interface AuditContext {
  readonly server: ServerVersion;
  readonly stream: StreamFacts;
  readonly logger: Logger;
}

/**
 * Checks the durable's config as read while the route runs (the ack-floor refresh): a conflict
 * is returned as ErrConsumerConfigConflict for the engine to fail with; a guarded setting
 * someone changed is set back at once, with a warning naming each change.
 */
export async function auditConsumer(
  jsm: JetStreamManager,
  spec: JetStreamRouteSpec,
  info: ConsumerInfo,
  ctx: AuditContext,
): Promise<ErrConsumerConfigConflict | undefined> {
  const check = checkConsumer(info.config, spec, ctx.server, ctx.stream);
  const [conflict, ...more] = check.conflicts;
  if (conflict !== undefined) {
    return new ErrConsumerConfigConflict(spec.name, spec.stream, spec.durable, [conflict, ...more]);
  }
  const changed = check.changes.filter((c) => GUARDED.has(c.field));
  if (changed.length === 0) return undefined;
  // Only the guarded fields: the others are left to the next start (see GUARDED).
  const update = Object.fromEntries(
    Object.entries(check.update).filter(([field]) => GUARDED.has(field)),
  );
  await jsm.consumers.update(spec.stream, spec.durable, update);
  ctx.logger.warn(
    {
      durable: spec.durable,
      restored: changed.map(describeChange),
    },
    "consumer settings changed under the route; restored",
  );
  return undefined;
}
