/**
 * One throttle's client states, keyed by identity, in creation order. Expired states are
 * removed lazily on access and by {@link sweep}, which resumes where its last call stopped so
 * each call does a bounded amount of work.
 */
export class StateTable {
  readonly states = new Map<string, number[]>();
  private cursor: Iterator<[string, number[]]> | undefined;

  /** Removes up to `budget` examined entries that expired by `now`; returns how many it examined. */
  sweep(now: number, budget: number, onRemove: () => void): number {
    let examined = 0;
    while (examined < budget) {
      this.cursor ??= this.states.entries();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        break;
      }
      examined++;
      const [identity, state] = next.value;
      if (!((state[0] as number) > now)) {
        this.states.delete(identity);
        onRemove();
      }
    }
    return examined;
  }

  /** Removes the oldest-created entry; returns whether there was one. */
  evictOldest(): boolean {
    const oldest = this.states.keys().next();
    if (oldest.done) return false;
    this.states.delete(oldest.value);
    return true;
  }
}
