import type { StateTable } from "./state-table.js";

/** One client's state as the in-memory backend holds it, linked into its eviction queue. */
export class Entry {
  /** Toward the least recently used end of its queue. */
  older: Entry | undefined = undefined;
  /** Toward the most recently used end of its queue. */
  newer: Entry | undefined = undefined;
  /** Whether the client's last decision rejected it or left it no unit: evicted last. */
  throttled = false;
  /** What {@link estimateBytes} gave for this entry when it was last stored. */
  bytes = 0;

  constructor(
    readonly table: StateTable,
    readonly identity: string,
    public state: number[],
  ) {}
}

/** A doubly linked list of entries, least recently used first. */
class Queue {
  oldest: Entry | undefined = undefined;
  newest: Entry | undefined = undefined;

  append(entry: Entry): void {
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.newer = entry;
    this.newest = entry;
  }

  unlink(entry: Entry): void {
    if (entry.older === undefined) this.oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
}

/**
 * The order in which the in-memory backend gives states up, over all throttles: two queues,
 * least recently used first, one for clients that still have room and one for throttled
 * clients, which go only when the other queue is empty. Every operation is O(1): no walk of a
 * Map, whose fresh iterators skip every deleted entry ahead of the first live one.
 */
export class EvictionOrder {
  private readonly free = new Queue();
  private readonly throttled = new Queue();

  /** Puts `entry` at the most recently used end of the queue of its kind. */
  touch(entry: Entry, throttled: boolean): void {
    const from = entry.throttled ? this.throttled : this.free;
    const to = throttled ? this.throttled : this.free;
    // The hot path: the same client decided twice in a row.
    if (from === to && to.newest === entry) return;
    if (entry.older !== undefined || from.oldest === entry) from.unlink(entry);
    entry.throttled = throttled;
    to.append(entry);
  }

  remove(entry: Entry): void {
    (entry.throttled ? this.throttled : this.free).unlink(entry);
  }

  /** The least recently used entry of a kind (walk on through `newer`), if any. */
  first(throttled: boolean): Entry | undefined {
    return (throttled ? this.throttled : this.free).oldest;
  }

  clear(): void {
    this.free.oldest = this.free.newest = undefined;
    this.throttled.oldest = this.throttled.newest = undefined;
  }
}
