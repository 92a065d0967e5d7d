import type { Step, StrategyState } from "../../strategies/strategy.js";
import { Entry, EvictionOrder } from "./eviction-order.js";
import { estimateBytes } from "./memory-estimate.js";
import { StateTable } from "./state-table.js";

/** The least recently used states of each kind checked for expiry before evicting a live one. */
const EXPIRY_PROBE = 2;

/** The bounds of {@link ClientStates}, and whom to tell when they make it evict. */
export interface ClientStatesBounds {
  readonly maxKeys: number;
  readonly maxBytes: number;
  /** Told (once per `code`) that live clients are being evicted. */
  readonly warn: (code: string, what: string) => void;
}

/**
 * Every throttle's client states, within `maxKeys` states and `maxBytes` estimated bytes.
 * Making room evicts, in this order: an expired state among the least recently used of each
 * kind, then the least recently used client that is not throttled, then the least recently used
 * throttled one. Each step is O(1) per new client.
 */
export class ClientStates {
  private readonly tables = new Map<string, StateTable>();
  private readonly order = new EvictionOrder();
  private lastUid: string | undefined;
  private lastTable: StateTable | undefined;
  /** States held. */
  count = 0;
  /** Estimated heap bytes of the states held. */
  bytes = 0;

  constructor(private readonly bounds: ClientStatesBounds) {}

  /** The table of throttle `uid`, made on first use. */
  table(uid: string): StateTable {
    // Most calls in a row come from one throttle.
    if (uid === this.lastUid && this.lastTable !== undefined) return this.lastTable;
    let table = this.tables.get(uid);
    if (table === undefined) {
      table = new StateTable();
      this.tables.set(uid, table);
    }
    this.lastUid = uid;
    this.lastTable = table;
    return table;
  }

  /**
   * Records a consuming decision: stores an admitted step's state, and ranks the client by the
   * step (throttled when rejected or left with no unit). `entry` is the client's, if it has
   * one. Returns whether a new state was made.
   */
  record(
    table: StateTable,
    identity: string,
    entry: Entry | undefined,
    step: Step,
    now: number,
  ): boolean {
    if (!step.allowed) {
      // A rejection stores nothing: the client, if it has a state, is now throttled.
      if (entry !== undefined) this.order.touch(entry, true);
      return false;
    }
    const created = entry === undefined;
    if (entry === undefined) {
      entry = new Entry(table, identity, step.state as number[]);
      table.entries.set(identity, entry);
      this.count++;
    } else if (entry.state !== step.state) {
      copyInto(entry.state, step.state);
    }
    this.order.touch(entry, step.remaining <= 0);
    this.measure(entry);
    if (this.count > this.bounds.maxKeys || this.bytes > this.bounds.maxBytes) {
      this.makeRoom(entry, now);
    }
    return created;
  }

  /**
   * Replaces a held state, as it is: an abandoned request's place given back. The client keeps
   * its rank for eviction; it made no new decision.
   */
  replace(entry: Entry, state: StrategyState): void {
    copyInto(entry.state, state);
    this.measure(entry);
  }

  /** The state of `identity` on throttle `uid`, if held. */
  find(uid: string, identity: string): Entry | undefined {
    return this.tables.get(uid)?.entries.get(identity);
  }

  remove(entry: Entry): void {
    entry.table.entries.delete(entry.identity);
    this.order.remove(entry);
    this.count--;
    this.bytes -= entry.bytes;
  }

  /** Removes expired states, examining at most `budget`; returns how many it examined. */
  sweep(now: number, budget: number): number {
    let left = budget;
    for (const table of this.tables.values()) {
      if (left <= 0) break;
      left -= table.sweep(now, left, (entry) => this.remove(entry));
    }
    return budget - left;
  }

  clear(): void {
    this.tables.clear();
    this.lastTable = undefined;
    this.order.clear();
    this.count = 0;
    this.bytes = 0;
  }

  private measure(entry: Entry): void {
    const bytes = estimateBytes(entry.identity, entry.state.length);
    this.bytes += bytes - entry.bytes;
    entry.bytes = bytes;
  }

  /** Evicts until within both bounds, never `keep` (the client being decided). */
  private makeRoom(keep: Entry, now: number): void {
    while (this.count > this.bounds.maxKeys || this.bytes > this.bounds.maxBytes) {
      const victim = this.victim(keep, now);
      if (victim === undefined) return;
      this.remove(victim);
    }
  }

  private victim(keep: Entry, now: number): Entry | undefined {
    for (const throttled of [false, true]) {
      let entry = this.order.first(throttled);
      for (let i = 0; i < EXPIRY_PROBE && entry !== undefined; i++, entry = entry.newer) {
        if (entry !== keep && !((entry.state[0] as number) > now)) return entry;
      }
    }
    const free = this.leastRecentlyUsed(false, keep);
    if (free !== undefined) {
      this.bounds.warn(
        "TRAFFIK_INMEMORY_FULL",
        "evicting the least recently used clients that are not throttled; they start afresh",
      );
      return free;
    }
    const throttled = this.leastRecentlyUsed(true, keep);
    if (throttled !== undefined) {
      this.bounds.warn(
        "TRAFFIK_INMEMORY_EVICTING_THROTTLED",
        "every client held is throttled: evicting the least recently used throttled clients, which start afresh",
      );
    }
    return throttled;
  }

  private leastRecentlyUsed(throttled: boolean, keep: Entry): Entry | undefined {
    const first = this.order.first(throttled);
    return first === keep ? first.newer : first;
  }
}

/**
 * Copies `next` into the stored array: a long-lived array stays put instead of each decision
 * promoting a new one to the old generation, which made GC the hot path's main cost.
 */
function copyInto(stored: number[], next: StrategyState): void {
  if (stored.length !== next.length) stored.length = next.length;
  for (let i = 0; i < next.length; i++) stored[i] = next[i] as number;
}
