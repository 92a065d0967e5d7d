import type { Entry } from "./eviction-order.js";

/**
 * One throttle's client states, keyed by identity. {@link sweep} finds expired states in
 * bounded batches, resuming where its last call stopped: its one iterator passes each deleted
 * entry once, where a fresh iterator per call would pass them all again.
 */
export class StateTable {
  readonly entries = new Map<string, Entry>();
  private cursor: Iterator<Entry> | undefined;

  /**
   * Examines up to `budget` entries and hands those expired by `now` to `onExpired` (which
   * removes them); returns how many it examined.
   */
  sweep(now: number, budget: number, onExpired: (entry: Entry) => void): number {
    let examined = 0;
    while (examined < budget) {
      this.cursor ??= this.entries.values();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        break;
      }
      examined++;
      if (!((next.value.state[0] as number) > now)) onExpired(next.value);
    }
    return examined;
  }
}
