import { BackendError } from "../errors.js";
import { stageGroup } from "../strategies/group.js";
import type { Step, StrategyState } from "../strategies/strategy.js";
import { decodeState, encodeState, sameState } from "./state-codec.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "./types.js";

/** What the lock path needs of a store: the required primitives, its clock and its limits. */
export interface LockedStore {
  readonly namespace: string;
  readonly timeoutMs: number;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  lock(name: string, options?: LockOptions): Promise<Lock>;
  now(): number;
}

/**
 * Decides `requests` (whose states live at `keys`) all or nothing on a store that has only
 * the primitives: takes each key's lock, in sorted order so two groups over the same keys
 * cannot deadlock, reads the states, stages the group ({@link stageGroup}) and, in `"consume"`
 * mode, writes what it commits. Nothing is written once the deadline has passed: the caller
 * stopped waiting and `onError` answered. Any failure is a `BackendError`. @internal
 */
export async function decideUnderLocks(
  store: LockedStore,
  lockTtlMs: number,
  keys: readonly string[],
  requests: readonly DecisionRequest[],
  mode: DecisionMode,
): Promise<Step[]> {
  const deadline = performance.now() + store.timeoutMs;
  const distinct = [...new Set(keys)].sort();
  const locks: Lock[] = [];
  try {
    for (const key of distinct) locks.push(await store.lock(`lock:${key}`, { ttlMs: lockTtlMs }));
    const states = new Map<string, StrategyState | undefined>();
    for (const key of distinct) states.set(key, decodeState(await store.get(key)));
    const now = store.now();
    const group = stageGroup(
      requests.map(({ strategy, rate, cost }, i) => {
        const key = keys[i] as string;
        return { key, strategy, rate, cost, state: states.get(key) };
      }),
      now,
    );
    if (mode === "consume" && group.commits.length > 0) {
      if (performance.now() > deadline) {
        throw new BackendError(
          `Backend "${store.namespace}" did not decide within ${store.timeoutMs} ms.`,
          { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" },
        );
      }
      for (const { key, state } of group.commits) {
        if (state.length > 0) await storeState(store, key, state, now);
      }
    }
    return group.steps;
  } catch (error) {
    throw error instanceof BackendError
      ? error
      : new BackendError(`Backend "${store.namespace}" failed: ${String(error)}`, {
          cause: error,
        });
  } finally {
    for (const lock of locks.reverse()) await lock.release().catch(() => false);
  }
}

/**
 * Puts `restored` at `key` if the state there is still exactly `admitted`, under the key's
 * lock; past the deadline the lock may have lapsed and another writer come, so it leaves the
 * key be. @internal
 */
export async function restoreUnderLock(
  store: LockedStore,
  lockTtlMs: number,
  key: string,
  admitted: StrategyState,
  restored: StrategyState,
): Promise<void> {
  const deadline = performance.now() + store.timeoutMs;
  const lock = await store.lock(`lock:${key}`, { ttlMs: lockTtlMs });
  try {
    if (!sameState(decodeState(await store.get(key)), admitted)) return;
    if (performance.now() > deadline) return;
    await storeState(store, key, restored, store.now());
  } finally {
    await lock.release().catch(() => false);
  }
}

/** Stores `state` at `key` until it expires (`state[0]`), or deletes it if it has. @internal */
export async function storeState(
  store: LockedStore,
  key: string,
  state: StrategyState,
  now: number,
): Promise<void> {
  const ttlMs = Math.ceil((state[0] as number) - now);
  if (ttlMs > 0) await store.set(key, encodeState(state), ttlMs);
  else await store.delete(key);
}
