import { BackendError, ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import type { Step, StrategyState } from "../../strategies/strategy.js";
import { BACKEND_OPTION_NAMES, ThrottleBackend, type ThrottleBackendOptions } from "../base.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "../types.js";
import { LocalLocks } from "./locks.js";
import { StateTable } from "./state-table.js";

/** Options of {@link InMemoryBackend}. */
export interface InMemoryBackendOptions extends Partial<ThrottleBackendOptions> {
  /**
   * Most client states kept at once, over all throttles. When full, a new client first makes
   * room by a bounded sweep of expired states, else by evicting the oldest-created state (that
   * client starts afresh). @default 1_000_000
   */
  maxKeys?: number;
  /** How often the one background sweeper runs, in ms. @default 10_000 */
  sweepIntervalMs?: number;
  /** States examined per sweep. @default 10_000 */
  sweepBudget?: number;
  /** The deciding clock in ms; monotonic by default. Inject one in tests. */
  clock?: () => number;
}

interface StoredValue {
  value: string;
  expiresAt: number;
}

const monotonic = (): number => performance.now();

/** States examined for expiry before a full backend evicts instead. */
const SCAN_BUDGET = 1_000;

/**
 * Keeps everything in this process's memory: the fastest backend, and the right one for a
 * single process, tests and development. Not shared between processes.
 *
 * Decisions are atomic by construction: each is one synchronous read-modify-write. There is no
 * timer per key; one unref'd sweeper removes expired states in bounded batches, and `maxKeys`
 * bounds memory.
 */
export class InMemoryBackend extends ThrottleBackend {
  readonly maxKeys: number;
  private readonly clock: () => number;
  private readonly sweepIntervalMs: number;
  private readonly sweepBudget: number;
  private readonly tables = new Map<string, StateTable>();
  private readonly values = new Map<string, StoredValue>();
  private readonly locks = new LocalLocks();
  private stateCount = 0;
  private lastUid: string | undefined;
  private lastTable: StateTable | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private warnedFull = false;
  private scanCredit = 0;

  constructor(options: InMemoryBackendOptions = {}) {
    rejectUnknownOptions("InMemoryBackend", options, {
      ...BACKEND_OPTION_NAMES,
      maxKeys: true,
      sweepIntervalMs: true,
      sweepBudget: true,
      clock: true,
    });
    super({ ...options, namespace: options.namespace ?? "inmemory" });
    this.maxKeys = options.maxKeys ?? 1_000_000;
    this.clock = options.clock ?? monotonic;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    this.sweepBudget = options.sweepBudget ?? 10_000;
    if (!Number.isSafeInteger(this.maxKeys) || this.maxKeys < 1) {
      throw new ConfigurationError(
        `InMemoryBackend: maxKeys must be a whole number of at least 1, got ${this.maxKeys}.`,
      );
    }
  }

  /** States currently held, over all throttles. */
  get size(): number {
    return this.stateCount;
  }

  override now(): number {
    return this.clock();
  }

  override decide(request: DecisionRequest, mode: DecisionMode): Step {
    const table = this.table(request.uid);
    const state = table.states.get(request.identity);
    const { strategy, cost, rate } = request;
    const now = this.clock();
    // The table owns its states, so one that grows can be extended where it lies.
    const step =
      mode === "consume" && strategy.applyInPlace !== undefined
        ? strategy.applyInPlace(state, now, cost, rate)
        : strategy.apply(state, now, cost, rate);
    if (mode === "consume" && step.allowed) this.store(table, request.identity, state, step.state);
    return step;
  }

  override decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Step[] {
    const now = this.clock();
    // Later requests in the group see what earlier ones would store (a throttle may repeat).
    const pending = new Map<StateTable, Map<string, Step>>();
    const steps = requests.map((request) => {
      const table = this.table(request.uid);
      const staged = pending.get(table)?.get(request.identity);
      const state = staged ? staged.state : table.states.get(request.identity);
      const step = request.strategy.apply(state, now, request.cost, request.rate);
      if (step.allowed) {
        let forTable = pending.get(table);
        if (forTable === undefined) {
          forTable = new Map();
          pending.set(table, forTable);
        }
        forTable.set(request.identity, step);
      }
      return step;
    });
    if (mode === "consume" && steps.every((step) => step.allowed)) {
      for (const [table, staged] of pending) {
        for (const [identity, step] of staged) {
          this.store(table, identity, table.states.get(identity), step.state);
        }
      }
    }
    return steps;
  }

  override async clear(uid: string, identity: string): Promise<void> {
    if (this.tables.get(uid)?.states.delete(identity)) this.stateCount--;
  }

  async get(key: string): Promise<string | null> {
    return this.liveValue(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : this.clock() + ttlMs;
    this.values.set(key, { value, expiresAt });
    this.startSweeper();
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }

  async increment(key: string, amount = 1): Promise<number> {
    return this.add(key, amount, undefined);
  }

  async decrement(key: string, amount = 1): Promise<number> {
    return this.add(key, -amount, undefined);
  }

  async incrementWithTtl(key: string, amount: number, ttlMs: number): Promise<number> {
    return this.add(key, amount, ttlMs);
  }

  lock(name: string, options?: LockOptions): Promise<Lock> {
    return this.locks.acquire(name, options);
  }

  async reset(): Promise<void> {
    this.tables.clear();
    this.lastTable = undefined;
    this.values.clear();
    this.locks.clear();
    this.stateCount = 0;
  }

  override async close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await super.close();
  }

  /** Runs one sweep of expired states and values now; returns how many states it examined. */
  sweep(): number {
    const now = this.clock();
    let budget = this.sweepBudget;
    for (const table of this.tables.values()) {
      if (budget <= 0) break;
      budget -= table.sweep(now, budget, () => this.stateCount--);
    }
    for (const [key, stored] of this.values) {
      if (stored.expiresAt <= now) this.values.delete(key);
    }
    return this.sweepBudget - budget;
  }

  private table(uid: string): StateTable {
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

  private store(
    table: StateTable,
    identity: string,
    stored: number[] | undefined,
    next: StrategyState,
  ): void {
    if (stored === undefined) {
      if (this.stateCount >= this.maxKeys) this.makeRoom(table);
      this.stateCount++;
      this.startSweeper();
    } else if (stored === next) {
      return;
    } else {
      // Updated in place: a long-lived array stays put instead of each decision promoting a
      // new one to the old generation, which made garbage collection the hot path's main cost.
      if (stored.length !== next.length) stored.length = next.length;
      for (let i = 0; i < next.length; i++) stored[i] = next[i] as number;
      return;
    }
    table.states.set(identity, next as number[]);
  }

  private makeRoom(preferred: StateTable): void {
    // A scan that found nothing expired is not repeated for the next SCAN_BUDGET new clients,
    // so a flood of new keys costs O(1) each, not a scan each.
    if (this.scanCredit <= 0) {
      const before = this.stateCount;
      preferred.sweep(this.clock(), SCAN_BUDGET, () => this.stateCount--);
      if (this.stateCount < this.maxKeys) return;
      if (this.stateCount === before) this.scanCredit = SCAN_BUDGET;
    } else {
      this.scanCredit--;
    }
    if (!this.warnedFull) {
      this.warnedFull = true;
      process.emitWarning(
        `InMemoryBackend "${this.namespace}" holds maxKeys=${this.maxKeys} client states; evicting the oldest. Evicted clients start afresh; raise maxKeys if this is normal load.`,
        { code: "TRAFFIK_INMEMORY_FULL" },
      );
    }
    for (const table of [preferred, ...this.tables.values()]) {
      if (table.evictOldest()) {
        this.stateCount--;
        return;
      }
    }
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.sweeper.unref();
  }

  private liveValue(key: string): StoredValue | undefined {
    const stored = this.values.get(key);
    if (stored === undefined) return undefined;
    if (stored.expiresAt <= this.clock()) {
      this.values.delete(key);
      return undefined;
    }
    return stored;
  }

  private add(key: string, amount: number, ttlMs: number | undefined): number {
    const stored = this.liveValue(key);
    const current = stored === undefined ? 0 : Number.parseInt(stored.value, 10);
    if (!Number.isSafeInteger(current)) {
      throw new BackendError(`InMemoryBackend: the value at "${key}" is not an integer.`, {
        code: "ERR_TRAFFIK_NOT_AN_INTEGER",
      });
    }
    const next = current + amount;
    if (stored === undefined) {
      const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : this.clock() + ttlMs;
      this.values.set(key, { value: String(next), expiresAt });
      this.startSweeper();
    } else {
      stored.value = String(next);
    }
    return next;
  }
}
