import type { Step, StrategyState } from "../../strategies/strategy.js";
import { adjusted } from "../adjusted.js";
import { decodeState, sameState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest } from "../types.js";
import type { Row, Statements } from "./schema.js";
import { SQLiteStore } from "./store.js";

export type { SQLiteBackendOptions } from "./options.js";

/**
 * Keeps counters in an SQLite file that several processes on one machine share, with no
 * server (through `better-sqlite3`, an optional peer dependency). Each decision, and each
 * group of decisions, is one transaction that takes the file's write lock first
 * (`BEGIN IMMEDIATE`), reads the states, applies the TypeScript strategies, and stores the
 * states only if every request is admitted: the lock makes read, decide and write one step
 * across processes, so no mirror of the strategies in SQL is needed.
 *
 * better-sqlite3 is synchronous: a decision is answered in the turn it is asked, and holds
 * this process's event loop for the transaction (tens of microseconds) and, while another
 * process holds the write lock, for the wait, at most `timeoutMs` (`busy_timeout`). A lock
 * held longer is an outage: the decision fails with `ERR_TRAFFIK_BACKEND_TIMEOUT`, nothing is
 * stored, and `onError` decides; until a decision gets the lock again, the next ones wait 5 ms
 * at most, so an outage holds the event loop `timeoutMs` once, not once per request. The
 * deciding clock is each process's wall clock: one machine.
 */
export class SQLiteBackend extends SQLiteStore {
  override decide(request: DecisionRequest, mode: DecisionMode): Step | Promise<Step> {
    const steps = this.decideAll([request], mode);
    return steps instanceof Promise ? steps.then((all) => all[0] as Step) : (steps[0] as Step);
  }

  override decideAll(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Step[] | Promise<Step[]> {
    if (!this.isOpen) return this.opened().then(() => this.decideNow(requests, mode));
    return this.decideNow(requests, mode);
  }

  /**
   * Puts `restored` back if the client's state is still exactly `admitted`, in one writing
   * transaction; otherwise leaves it.
   */
  override async restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    await this.opened();
    const at = this.rowKey(this.stateKey(request.uid, request.identity));
    this.transaction(true, (s, now) => {
      if (sameState(readState(s, at, now), admitted)) this.keepState(s, at, restored, now);
    });
  }

  /** A penalty or reward in one writing transaction: read, adjust, write. */
  override async adjustState(request: DecisionRequest, points: number): Promise<Step> {
    await this.opened();
    const at = this.rowKey(this.stateKey(request.uid, request.identity));
    return this.transaction(true, (s, now) => {
      const { state, step } = adjusted(request, readState(s, at, now), now, points);
      this.keepState(s, at, state, now);
      return step;
    });
  }

  /** Forgets one client's state in one throttle. */
  override async clear(uid: string, identity: string): Promise<void> {
    await this.delete(this.stateKey(uid, identity));
  }

  /** One transaction: read every key once, decide in order, store all or nothing. */
  private decideNow(requests: readonly DecisionRequest[], mode: DecisionMode): Step[] {
    const consume = mode === "consume";
    return this.transaction(consume, (s, now) => {
      const keys = requests.map((r) => this.rowKey(this.stateKey(r.uid, r.identity)));
      const states = new Map<string, StrategyState | undefined>();
      for (const key of keys) if (!states.has(key)) states.set(key, readState(s, key, now));
      const steps = requests.map((request, i) => {
        const key = keys[i] as string;
        const step = request.strategy.apply(states.get(key), now, request.cost, request.rate);
        if (step.allowed) states.set(key, step.state);
        return step;
      });
      if (consume && steps.every((step) => step.allowed)) {
        for (const [key, state] of states) {
          if (state !== undefined && state.length > 0) this.keepState(s, key, state, now);
        }
      }
      return steps;
    });
  }
}

/** The live state at the table key `at`, or `undefined`. */
function readState(s: Statements, at: string, now: number): number[] | undefined {
  const row = s.read.get(at, now) as Row | undefined;
  return row === undefined ? undefined : decodeState(row.state);
}
