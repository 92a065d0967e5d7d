import type { Rate } from "../rate.js";
import { isLive, rejected, type Step, type Strategy, type StrategyState } from "./strategy.js";

/** The state of a client with no ban: never stored (see `stageGroup`). */
const NO_BAN: StrategyState = Object.freeze([]) as StrategyState;

/**
 * The ban of a throttle built with `blocking: true` (`throttle.block()`), decided as one more
 * member of every group the throttle takes part in, under a key of its own: so a ban is shared
 * by every process on the backend, is atomic with the decision it stops, and no reward or
 * refund of the throttle's counts can lift it. A throttle built without `blocking` never
 * decides it, and pays nothing.
 *
 * - State, 1 number: `[bannedUntilMs]`.
 * - A request (of any cost, a peek included) is rejected until then, told to wait the rest of
 *   the ban; otherwise admitted, with the empty state, which a group never stores.
 * - `adjust(state, now, ms)` bans for `ms` from `now`, never shortening a longer ban.
 *
 * Not a class: it is no strategy a throttle may be given. @internal
 */
export const BAN_STRATEGY: Strategy = Object.freeze({
  name: "ban",
  capacity(rate: Rate): number {
    return rate.limit;
  },
  apply(state: StrategyState | undefined, now: number): Step {
    const t = Math.floor(now);
    if (isLive(state, 1, t)) {
      const left = (state[0] as number) - t;
      return rejected(state, 0, left, left);
    }
    return {
      state: NO_BAN,
      allowed: true,
      remaining: 0,
      retryAfterMs: 0,
      resetAfterMs: 0,
      delayMs: 0,
    };
  },
  adjust(state: StrategyState | undefined, now: number, ms: number): StrategyState {
    const t = Math.floor(now);
    const until = isLive(state, 1, t) ? (state[0] as number) : t;
    return [Math.max(until, t + Math.max(0, Math.ceil(ms)))];
  },
});
