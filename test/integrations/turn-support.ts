/**
 * What the tests of waits for a turn share: throttles whose second request waits an hour, and
 * a count of such waits still pending.
 */
import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { LeakyBucketWithQueueStrategy } from "traffik/strategies";

/** How long the second request on a throttle waits for its turn: one unit an hour. */
export const TURN_MS = 3_600_000;

/**
 * The timers of waits for a turn that are still pending: Timeouts of about {@link TURN_MS}
 * (within a minute of it, as on a server's running clock; no other timer in the tests is near
 * an hour long), seen through async_hooks because `getActiveResourcesInfo()` counts every
 * other timer too. `_idleTimeout` is the delay Node keeps on a Timeout.
 */
export const pendingWaits = new Set<number>();
createHook({
  init(id, type, _trigger, resource) {
    const delayMs = (resource as { _idleTimeout?: number })._idleTimeout ?? 0;
    if (type === "Timeout" && delayMs > TURN_MS - 60_000 && delayMs <= TURN_MS) {
      pendingWaits.add(id);
    }
  },
  destroy(id) {
    pendingWaits.delete(id);
  },
}).enable();

/**
 * Waits for I/O until `check` holds (polling, bounded), not for time to pass. The bound (about
 * 30 s) only ends a wait that will never succeed: under `npm run test:stress`, 50 Socket.IO
 * events and their answers took over 5 s, the bound before.
 */
export async function until(check: () => boolean, what: string | (() => string)): Promise<void> {
  for (let i = 0; i < 6000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) assert.fail(typeof what === "string" ? what : what());
}

/**
 * Throttles whose second request waits an hour for its turn: one unit an hour, a queue of one,
 * on a clock that stands still. `pair` share one backend, as all or nothing requires.
 */
export function queueThrottles() {
  const backend = new InMemoryBackend({ namespace: "aborts", clock: () => 0 });
  const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 1 });
  const make = (uid: string) =>
    new HTTPThrottle<unknown>({ uid, rate: "1/h", strategy, backend, identifier: () => "client" });
  assert.equal(strategy.capacity(make("probe").rate), 2, `the second request waits ${TURN_MS} ms`);
  return { one: make("one"), pairA: make("pair-a"), pairB: make("pair-b"), app: make("app") };
}
