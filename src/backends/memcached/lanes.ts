/** Something that waits in a lane and can be failed with the round before it. */
export interface LaneEntry {
  reject(error: unknown): void;
}

/**
 * Runs rounds of work on each key, one round at a time per key: what arrives while a round is
 * in flight waits, and all of it goes into the next round together, so a flood on one key costs
 * one read and one write per round, not per decision. Waiting is not an outage: it has no
 * deadline of its own (each round's commands have theirs), and it is bounded, `maxWaiting` per
 * key; {@link submit} refuses more, for the caller to answer at once.
 */
export class KeyLanes<E extends LaneEntry> {
  private readonly lanes = new Map<string, E[]>();

  /**
   * `runRound` decides its entries (settling each) and resolves, never rejects: to `undefined`,
   * or to the server's failure, which then fails the entries that waited behind the round rather
   * than sending them to a server that just did not answer.
   */
  constructor(
    private readonly runRound: (entries: E[]) => Promise<unknown>,
    private readonly maxWaiting: number,
  ) {}

  /**
   * Queues `entry` on `key`, or returns `false` when `maxWaiting` already wait there; an
   * `unbounded` entry is queued all the same (one with no answer to give but a failure).
   */
  submit(key: string, entry: E, unbounded = false): boolean {
    const waiting = this.lanes.get(key);
    if (waiting === undefined) {
      this.lanes.set(key, []);
      this.run(key, [entry]);
      return true;
    }
    if (waiting.length >= this.maxWaiting && !unbounded) return false;
    waiting.push(entry);
    return true;
  }

  private run(key: string, entries: E[]): void {
    void this.runRound(entries).then((failure) => {
      const next = this.lanes.get(key) ?? [];
      if (next.length === 0) {
        this.lanes.delete(key);
      } else if (failure !== undefined) {
        this.lanes.delete(key);
        for (const entry of next) entry.reject(failure);
      } else {
        this.lanes.set(key, []);
        this.run(key, next);
      }
    });
  }
}
