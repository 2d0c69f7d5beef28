import type { Logger } from "../logger/index.js";

/**
 * A child logger made on first use. pino's `child()` serializes its bindings and costs more
 * than a noop handler; most messages never log, so each message's logger is made only if used.
 */
export class LazyChildLogger implements Logger {
  readonly #parent: Logger;
  readonly #seq: number;
  readonly #deliveryCount: number;
  #child: Logger | undefined;

  constructor(parent: Logger, seq: number, deliveryCount: number) {
    this.#parent = parent;
    this.#seq = seq;
    this.#deliveryCount = deliveryCount;
  }

  get #log(): Logger {
    this.#child ??= this.#parent.child({ seq: this.#seq, deliveryCount: this.#deliveryCount });
    return this.#child;
  }

  debug(obj: object, msg?: string): void {
    this.#log.debug(obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#log.info(obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#log.warn(obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.#log.error(obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return this.#log.child(bindings);
  }
}
