import { ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { stageGroup } from "../../strategies/group.js";
import type { Step, StrategyState } from "../../strategies/strategy.js";
import { adjusted } from "../adjusted.js";
import { BACKEND_OPTION_NAMES, ThrottleBackend, type ThrottleBackendOptions } from "../base.js";
import { sameState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "../types.js";
import { ClientStates } from "./client-states.js";
import { epochMonotonicClock } from "./clock.js";
import type { Entry } from "./eviction-order.js";
import { LocalLocks } from "./locks.js";
import { defaultMaxBytes } from "./memory-estimate.js";
import type { StateTable } from "./state-table.js";
import { ValueStore } from "./values.js";

/** Options of {@link InMemoryBackend}. */
export interface InMemoryBackendOptions extends Partial<ThrottleBackendOptions> {
  /**
   * Most client states kept at once, over all throttles. A new client beyond it makes room:
   * an expired state among the two least recently used of each kind goes first (the sweeper
   * removes the others), else the least recently used client that is not throttled, else
   * (every client held is throttled) the least recently used throttled client, which then
   * starts afresh. A client is throttled when its last decision rejected it or left it no
   * unit. @default 1_000_000
   */
  maxKeys?: number;
  /**
   * Most heap bytes the client states may take, estimated per state as 196 bytes, plus one
   * per identity character, plus 10 per number (a sliding log keeps two numbers per request in
   * its window: ~20 kB for a full log at a limit of 1 000). Exceeding it evicts in the same
   * order as `maxKeys`; the state being decided is never evicted for it.
   * @default a quarter of V8's heap limit (`v8.getHeapStatistics().heap_size_limit / 4`)
   */
  maxBytes?: number;
  /** How often the one background sweeper runs, in ms. @default 10_000 */
  sweepIntervalMs?: number;
  /** States examined per sweep. @default 10_000 */
  sweepBudget?: number;
  /**
   * The deciding clock in whole ms. By default the epoch read from the monotonic clock, so
   * windows end where they do on Redis and a wall-clock step never moves it back. Inject one
   * in tests.
   */
  clock?: () => number;
}

/**
 * Keeps everything in this process's memory: the fastest backend, and the right one for a
 * single process, tests and development. Not shared between processes.
 *
 * Decisions are atomic by construction: each is one synchronous read-modify-write. There is no
 * timer per key; one unref'd sweeper removes expired states in bounded batches, and `maxKeys`
 * and `maxBytes` bound memory. Making room costs O(1) per new client, and never frees a
 * throttled client while another can go.
 */
export class InMemoryBackend extends ThrottleBackend {
  /** See {@link InMemoryBackendOptions.maxKeys}. */
  readonly maxKeys: number;
  /** See {@link InMemoryBackendOptions.maxBytes}. */
  readonly maxBytes: number;
  private readonly clock: () => number;
  private readonly sweepIntervalMs: number;
  private readonly sweepBudget: number;
  private readonly states: ClientStates;
  private readonly values: ValueStore;
  private readonly locks = new LocalLocks();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly warned = new Set<string>();

  constructor(options: InMemoryBackendOptions = {}) {
    rejectUnknownOptions("InMemoryBackend", options, {
      ...BACKEND_OPTION_NAMES,
      namespace: true,
      maxKeys: true,
      maxBytes: true,
      sweepIntervalMs: true,
      sweepBudget: true,
      clock: true,
    });
    super({ ...options, namespace: options.namespace ?? "inmemory" });
    this.maxKeys = positiveWhole("maxKeys", options.maxKeys ?? 1_000_000);
    this.maxBytes = positiveWhole("maxBytes", options.maxBytes ?? defaultMaxBytes());
    this.clock = options.clock ?? epochMonotonicClock;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    this.sweepBudget = options.sweepBudget ?? 10_000;
    this.values = new ValueStore(this.clock, () => this.startSweeper());
    this.states = new ClientStates({
      maxKeys: this.maxKeys,
      maxBytes: this.maxBytes,
      warn: (code, what) => this.warnOnce(code, what),
    });
  }

  /** States currently held, over all throttles. */
  get size(): number {
    return this.states.count;
  }

  /** Heap bytes the states currently held are estimated to take (what `maxBytes` bounds). */
  get bytes(): number {
    return this.states.bytes;
  }

  override now(): number {
    return this.clock();
  }

  override decide(request: DecisionRequest, mode: DecisionMode): Step {
    const table = this.states.table(request.uid);
    const entry = table.entries.get(request.identity);
    const state = entry?.state;
    const { strategy, cost, rate } = request;
    const now = this.clock();
    // The entry owns its state, so one that grows can be extended where it lies.
    const step =
      mode === "consume" && strategy.applyInPlace !== undefined
        ? strategy.applyInPlace(state, now, cost, rate)
        : strategy.apply(state, now, cost, rate);
    if (mode === "consume") this.record(table, request.identity, entry, step, now);
    return step;
  }

  override decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Step[] {
    const now = this.clock();
    const tables = requests.map((request) => this.states.table(request.uid));
    const group = stageGroup(
      requests.map(({ uid, identity, strategy, rate, cost }, i) => ({
        // The uid is plain (no ":"), so this names one client of one throttle.
        key: `${uid}:${identity}`,
        strategy,
        rate,
        cost,
        state: (tables[i] as StateTable).entries.get(identity)?.state,
      })),
      now,
    );
    if (mode === "consume") {
      group.steps.forEach((step, i) => {
        const table = tables[i] as StateTable;
        const { identity } = requests[i] as DecisionRequest;
        // A rejected member's client is throttled, whatever the group's outcome.
        if (!step.allowed) this.record(table, identity, table.entries.get(identity), step, now);
      });
      for (const { member } of group.commits) {
        const table = tables[member] as StateTable;
        const { identity } = requests[member] as DecisionRequest;
        // Looked up now: committing an earlier member may have evicted a state.
        this.record(table, identity, table.entries.get(identity), group.steps[member] as Step, now);
      }
    }
    return group.steps;
  }

  override async clear(uid: string, identity: string): Promise<void> {
    const entry = this.states.find(uid, identity);
    if (entry !== undefined) this.states.remove(entry);
  }

  /** A synchronous compare and replace: nothing can come between them in one process. */
  override async restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    const entry = this.states.find(request.uid, request.identity);
    if (entry === undefined || !sameState(entry.state, admitted)) return;
    if ((restored[0] as number) > this.clock()) this.states.replace(entry, restored);
    else this.states.remove(entry);
  }

  /** Synchronous: nothing can come between the read and the write in one process. */
  override async adjustState(request: DecisionRequest, points: number): Promise<Step> {
    const table = this.states.table(request.uid);
    const entry = table.entries.get(request.identity);
    const now = this.clock();
    const { state, step } = adjusted(request, entry?.state, now, points);
    if ((state[0] as number) <= now) {
      if (entry !== undefined) this.states.remove(entry);
    } else {
      // Recorded as an admission that leaves `step.remaining`: a client penalised to nothing
      // left is ranked throttled, evicted last.
      const kept = { ...step, allowed: true, state: [...state] };
      this.record(table, request.identity, entry, kept, now);
    }
    return step;
  }

  async get(key: string): Promise<string | null> {
    return this.values.get(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.values.set(key, value, ttlMs);
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }

  lock(name: string, options?: LockOptions): Promise<Lock> {
    return this.locks.acquire(name, options);
  }

  async reset(): Promise<void> {
    this.states.clear();
    this.values.clear();
    this.locks.clear();
  }

  protected override async shutdown(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await super.shutdown();
  }

  /** Runs one sweep of expired states and values now; returns how many states it examined. */
  sweep(): number {
    const examined = this.states.sweep(this.clock(), this.sweepBudget);
    this.values.sweep();
    return examined;
  }

  private record(
    table: StateTable,
    identity: string,
    entry: Entry | undefined,
    step: Step,
    now: number,
  ): void {
    if (this.states.record(table, identity, entry, step, now)) this.startSweeper();
  }

  private warnOnce(code: string, what: string): void {
    if (this.warned.has(code)) return;
    this.warned.add(code);
    process.emitWarning(
      `InMemoryBackend "${this.namespace}" is full (maxKeys=${this.maxKeys}, maxBytes=${this.maxBytes}): ${what}. Raise the bounds if this is normal load.`,
      { code },
    );
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.sweeper.unref();
  }
}

function positiveWhole(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(
      `InMemoryBackend: ${name} must be a whole number of at least 1, got ${value}.`,
    );
  }
  return value;
}
