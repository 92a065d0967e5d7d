import { BackendError, TraffikError } from "../errors.js";
import type { Step } from "../strategies/strategy.js";
import { adjusted } from "./adjusted.js";
import { type LockedStore, storeState } from "./locked-decisions.js";
import { decodeState } from "./state-codec.js";
import type { DecisionRequest } from "./types.js";

/**
 * Takes `points` from (or gives them back to) the client whose state is at `key`, on a store
 * with only the primitives: under the key's lock, as every decision of the lock path takes
 * it, read, adjust (`adjusted`), write. Nothing is written past the deadline, when the lock
 * may have lapsed. A store's failure is a `BackendError`. @internal
 */
export async function adjustUnderLock(
  store: LockedStore,
  lockTtlMs: number,
  key: string,
  request: DecisionRequest,
  points: number,
): Promise<Step> {
  const deadline = performance.now() + store.timeoutMs;
  let lock: Awaited<ReturnType<LockedStore["lock"]>> | undefined;
  try {
    lock = await store.lock(`lock:${key}`, { ttlMs: lockTtlMs });
    const now = store.now();
    const { state, step } = adjusted(request, decodeState(await store.get(key)), now, points);
    if (performance.now() > deadline) {
      throw new BackendError(
        `Backend "${store.namespace}" did not adjust within ${store.timeoutMs} ms.`,
        { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" },
      );
    }
    await storeState(store, key, state, now);
    return step;
  } catch (error) {
    if (error instanceof TraffikError) throw error;
    throw new BackendError(`Backend "${store.namespace}" failed: ${String(error)}`, {
      cause: error,
    });
  } finally {
    await lock?.release().catch(() => false);
  }
}
