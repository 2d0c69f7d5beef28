import type { ConsumerInfo } from "@nats-io/jetstream";
import type { Msg } from "@nats-io/nats-core";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { redrivenForOther } from "./dead-letter-headers.js";
import { HEADERS_ONLY_RETRY_MS, isHeadersOnly } from "./delivery.js";
import type { HeldMessages } from "./held.js";
import type { Inbound } from "./inbound.js";
import type { ReplayGuard } from "./replay-guard.js";
import { ConsumerProbe, type DurableIdentity, rewindGuard } from "./rewind.js";
import type { StatsCounter } from "./stats.js";

/** What admitting deliveries needs from the engine. */
export interface AdmissionDeps {
  readonly spec: JetStreamRouteSpec;
  readonly guard: ReplayGuard;
  readonly held: HeldMessages;
  readonly stats: StatsCounter;
  readonly log: Logger;
  /** The durable as the server reports it now. */
  readonly readConsumer: () => Promise<ConsumerInfo>;
  /** The durable as the engine last saw it. */
  readonly identity: DurableIdentity;
  /** Gives held messages to free workers. */
  readonly dispatch: () => void;
}

/**
 * Decides, for each delivery, whether it is the route's to run: a sequence the route settled
 * is acked again (a replay after a recreate, a lost ack, 2.9's step-back), unless the durable
 * was rewound under the route; a second copy of a held message is dropped; a redrive for
 * another durable is acked; a headers-only delivery is put back; the rest wait for a worker.
 */
export class Admission {
  readonly #d: AdmissionDeps;
  readonly #probe: ConsumerProbe;

  constructor(deps: AdmissionDeps) {
    this.#d = deps;
    this.#probe = new ConsumerProbe(deps.readConsumer);
  }

  admit(m: Inbound, msg: Msg): void {
    const { guard, stats } = this.#d;
    if (m.seq <= guard.floor) {
      void this.#belowFloor(m, msg);
    } else if (guard.has(m.seq)) {
      stats.replaysSkipped++;
      m.ack();
    } else {
      this.#accept(m, msg);
    }
  }

  /** At or below the known ack floor: settled already (ack it), unless the durable was rewound. */
  async #belowFloor(m: Inbound, msg: Msg): Promise<void> {
    const { guard, stats, log, identity } = this.#d;
    const info = await this.#probe.info();
    if (info !== undefined && identity.observe(info, guard.floor)) {
      rewindGuard(guard, info.ack_floor.stream_seq, log);
    }
    if (guard.has(m.seq)) {
      stats.replaysSkipped++;
      m.ack();
    } else {
      this.#accept(m, msg);
    }
  }

  #accept(m: Inbound, msg: Msg): void {
    const { held, stats, spec, log } = this.#d;
    if (held.has(m.seq)) {
      // A second copy while the first is held: the first settles the sequence.
      stats.duplicatesSkipped++;
    } else if (redrivenForOther(msg.headers, spec.durable)) {
      // A redrive meant for the durable that gave up on it (Jetroute-Redrive-Durable).
      stats.redrivesSkipped++;
      m.ack();
    } else if (isHeadersOnly(msg)) {
      log.debug({ seq: m.seq }, "headers-only delivery put back");
      m.nak(HEADERS_ONLY_RETRY_MS);
    } else {
      held.add(m);
      this.#d.dispatch();
    }
  }
}
