import type { InboxStats } from "./types.js";

/** The mutable side of {@link InboxStats}, owned by a route's runner (cumulative over runs). */
export class InboxCounter {
  duplicates = 0;
  busy = 0;
  takenOver = 0;
  leaseLost = 0;
  storeErrors = 0;

  snapshot(): InboxStats {
    return Object.freeze({
      duplicates: this.duplicates,
      busy: this.busy,
      takenOver: this.takenOver,
      leaseLost: this.leaseLost,
      storeErrors: this.storeErrors,
    });
  }
}
