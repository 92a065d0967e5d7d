import type { BaseThrottle } from "./base.js";
import { decide } from "./decide.js";
import type { Decision } from "./decision.js";
import { type Eventually, whenReady } from "./sync-or-async.js";
import type { Departure } from "./turn.js";
import { type Verdict, verdictOf } from "./verdict.js";

/**
 * Decides `connection` under `throttles` one after another, in the order given, each only
 * where `applies(index)` says so: the first rejection answers and the rest are not consulted
 * (an app's middleware throttles); `shadow` decides them all as in shadow mode. Each decision
 * is the one of {@link decide}; a verdict, not a promise, while the filters and the backend
 * answer at once and nothing waits. @internal
 */
export function decideInOrder<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  applies: (index: number) => boolean | Promise<boolean>,
  departure?: Departure,
  shadow?: boolean,
): Eventually<Verdict<C>> {
  const options = { mode: "consume", departure, shadow } as const;
  const applied: BaseThrottle<C>[] = [];
  const decisions: Decision[] = [];

  const from = (start: number): Eventually<Verdict<C>> => {
    for (let index = start; index < throttles.length; index++) {
      const matches = applies(index);
      if (matches === false) continue;
      if (matches === true) return take(index);
      return matches.then((yes) => (yes ? take(index) : from(index + 1)));
    }
    return verdictOf(applied, decisions);
  };

  const take = (index: number): Eventually<Verdict<C>> => {
    const throttle = throttles[index] as BaseThrottle<C>;
    return whenReady(decide(throttle.alone, connection, options), (verdict) => {
      applied.push(throttle);
      decisions.push(verdict.decisions[0] as Decision);
      return verdict.rejection === undefined ? from(index + 1) : verdictOf(applied, decisions);
    });
  };

  return from(0);
}
