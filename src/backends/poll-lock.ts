import { setTimeout as sleep } from "node:timers/promises";
import { BackendError } from "../errors.js";
import type { LockOptions } from "./types.js";

/**
 * Takes a lock on a store that can only be asked "take it if free" (Redis `SET NX`, memcached
 * `add`): calls `take` until it succeeds, pausing a little longer each time (up to 50 ms), as
 * long as `options` allow. Resolves once `take` succeeded.
 *
 * @throws {BackendError} `ERR_TRAFFIK_LOCK_HELD` when not blocking, `ERR_TRAFFIK_LOCK_TIMEOUT`
 *   once `blockingTimeoutMs` have passed.
 */
export async function pollForLock(
  name: string,
  ttlMs: number,
  options: LockOptions,
  take: () => Promise<boolean>,
): Promise<void> {
  const blocking = options.blocking ?? true;
  const deadline = performance.now() + (options.blockingTimeoutMs ?? ttlMs);
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    if (await take()) return;
    const left = deadline - performance.now();
    if (!blocking || left <= 0) {
      throw new BackendError(`Lock "${name}" is held by another caller.`, {
        code: blocking ? "ERR_TRAFFIK_LOCK_TIMEOUT" : "ERR_TRAFFIK_LOCK_HELD",
      });
    }
    await sleep(Math.min(pause, left));
  }
}
