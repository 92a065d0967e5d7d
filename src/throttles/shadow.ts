/**
 * Shadow mode: a throttle that counts and reports as if enforcing but never rejects nor delays.
 * Its decisions carry `shadow: true`, which the group rule (`verdict.ts`) and the wait for a
 * turn skip; this module holds the marking and the one rule of a group that mixes shadow and
 * enforcing throttles.
 *
 * @module
 */
import { ConfigurationError } from "../errors.js";
import type { Unlimited } from "../unlimited.js";
import type { BaseThrottle } from "./base.js";
import type { DecideOptions } from "./decide.js";
import type { Decision } from "./decision.js";
import type { PreparedRequest } from "./prepare.js";
import { type Eventually, whenReady } from "./sync-or-async.js";
import { type Verdict, verdictOf } from "./verdict.js";

/**
 * Whether `mode` (a throttle's or a middleware's option) is `"shadow"`. @internal
 *
 * @throws {ConfigurationError} for anything but `"enforce"`, `"shadow"` or nothing.
 */
export function isShadowMode(mode: unknown, where: string): boolean {
  if (mode === undefined || mode === "enforce") return false;
  if (mode === "shadow") return true;
  throw new ConfigurationError(
    `${where}: mode must be "enforce" or "shadow", got ${JSON.stringify(mode)}.`,
  );
}

/**
 * `decision`, marked as a shadow throttle's. Written out, not spread: a spread adding a field
 * cost 2-3 µs a decision in V8 (measured in `npm run bench`'s setting), more than the rest of it.
 * @internal
 */
export function shadowed(decision: Decision): Decision {
  if (decision.shadow === true) return decision;
  return {
    allowed: decision.allowed,
    uid: decision.uid,
    rate: decision.rate,
    limit: decision.limit,
    remaining: decision.remaining,
    retryAfterMs: decision.retryAfterMs,
    resetAfterMs: decision.resetAfterMs,
    delayMs: decision.delayMs,
    source: decision.source,
    shadow: true,
  };
}

/** Whether `throttles` mix shadow and enforcing throttles. @internal */
export function mixesShadow(throttles: readonly BaseThrottle<never>[]): boolean {
  let shadow = false;
  let enforcing = false;
  for (const throttle of throttles) {
    if (throttle.shadow) shadow = true;
    else enforcing = true;
  }
  return shadow && enforcing;
}

/** What a group decision takes: the internal `decide` without events. @internal */
export type GroupDecider<C> = (
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options: DecideOptions,
) => Eventually<Verdict<C>>;

/**
 * Decides a group mixing shadow and enforcing throttles. The enforcing members decide, all or
 * nothing among themselves: a shadow member's would-be rejection neither rejects the group
 * nor keeps the enforcing members from counting (else a client exhausting the shadow limit
 * would pass the enforcing ones uncharged). The shadow members are then decided all or nothing
 * among themselves, as they would be inside the group: counted when the enforcing members
 * admitted the request, only looked at (peeked) when they rejected it, since an enforcing
 * group that rejects charges no one. @internal
 */
export function decideMixedGroup<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options: DecideOptions,
  decideGroup: GroupDecider<C>,
): Eventually<Verdict<C>> {
  const enforcing: number[] = [];
  const watching: number[] = [];
  throttles.forEach((throttle, index) => {
    (throttle.shadow ? watching : enforcing).push(index);
  });
  const pick = (indexes: readonly number[]) =>
    indexes.map((index) => throttles[index] as BaseThrottle<C>);
  const seenEnforcing: (PreparedRequest | Unlimited)[] = [];
  const seenWatching: (PreparedRequest | Unlimited)[] = [];
  const first = decideGroup(pick(enforcing), connection, { ...options, seen: seenEnforcing });
  return whenReady(first, (enforced) => {
    const mode = enforced.rejection === undefined ? options.mode : "peek";
    const asked = { mode, cost: options.cost, seen: seenWatching };
    return whenReady(decideGroup(pick(watching), connection, asked), (watched) => {
      const decisions: Decision[] = new Array(throttles.length);
      const place = (indexes: readonly number[], verdict: Verdict<C>, seen: typeof seenWatching) =>
        indexes.forEach((index, k) => {
          decisions[index] = verdict.decisions[k] as Decision;
          if (options.seen && k < seen.length) options.seen[index] = seen[k] as PreparedRequest;
        });
      place(enforcing, enforced, seenEnforcing);
      place(watching, watched, seenWatching);
      if (mode === "peek") unchargedRemaining(throttles, watching, decisions, seenWatching);
      return verdictOf(throttles, decisions);
    });
  });
}

/**
 * A peek reports what would remain once the request counted; a shadow member of a rejected
 * group counted nothing, so its units remain, as an enforcing member's do (see `decide.ts`).
 */
function unchargedRemaining<C>(
  throttles: readonly BaseThrottle<C>[],
  watching: readonly number[],
  decisions: Decision[],
  seen: readonly (PreparedRequest | Unlimited)[],
): void {
  watching.forEach((index, k) => {
    const decision = decisions[index] as Decision;
    const request = seen[k];
    if (!decision.allowed || typeof request !== "object") return;
    const capacity = (throttles[index] as BaseThrottle<C>).capacity;
    decisions[index] = {
      ...decision,
      remaining: Math.min(capacity, decision.remaining + request.cost),
    };
  });
}
