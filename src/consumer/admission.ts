import type { Msg } from "@nats-io/nats-core";
import type { Logger } from "../logger/index.js";
import type { JetStreamRouteSpec } from "../router/types.js";
import { redrivenForOther } from "./dead-letter-headers.js";
import { HEADERS_ONLY_RETRY_MS, isHeadersOnly } from "./delivery.js";
import type { HeldMessages } from "./held.js";
import type { Inbound } from "./inbound.js";
import type { ReplayGuard } from "./replay-guard.js";
import { FloorProbe, rewindGuard } from "./rewind.js";
import type { StatsCounter } from "./stats.js";

/** What admitting deliveries needs from the engine. */
export interface AdmissionDeps {
  readonly spec: JetStreamRouteSpec;
  readonly guard: ReplayGuard;
  readonly held: HeldMessages;
  readonly stats: StatsCounter;
  readonly log: Logger;
  /** The durable's ack floor as the server reports it now. */
  readonly readFloor: () => Promise<number>;
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
  readonly #floorProbe: FloorProbe;

  constructor(deps: AdmissionDeps) {
    this.#d = deps;
    this.#floorProbe = new FloorProbe(deps.readFloor);
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

  /** At or below the known ack floor: 2.9's step-back (ack it) or a rewound durable (run it). */
  async #belowFloor(m: Inbound, msg: Msg): Promise<void> {
    const { guard, stats, log } = this.#d;
    const floor = await this.#floorProbe.floor();
    if (floor !== undefined) rewindGuard(guard, floor, log);
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
