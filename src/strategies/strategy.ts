import type { Rate } from "../rate.js";

/**
 * The state a strategy keeps for one client: a short array of plain numbers, so every backend
 * can store it (a Map entry, a Redis value, a Memcached item) and every language can compute
 * with it. By contract `state[0]` is the time (on the deciding clock, in whole ms) from which
 * the state is equivalent to no state at all; backends use it as the key's expiry. Strategies
 * keep whole numbers only (see `whole-numbers.ts`), so states compare and serialise exactly.
 */
export type StrategyState = readonly number[];

/**
 * One decision of a strategy: the state to store (when allowed) and what to tell the caller.
 * Every duration is whole milliseconds, rounded up.
 */
export interface Step {
  /** The state after this request; `state[0]` is when it expires. Unchanged when rejected. */
  readonly state: StrategyState;
  /** Whether the request is admitted. */
  readonly allowed: boolean;
  /**
   * Whole units that could still be admitted right after this decision (for a rejected request,
   * without it), whatever this request's cost: a rejection for a cost beyond what the strategy
   * can ever admit still reports what smaller requests could take.
   */
  readonly remaining: number;
  /**
   * When rejected: milliseconds after which the same request is admitted if nothing else
   * arrives. `Infinity` when the cost exceeds what the strategy can ever admit. 0 when allowed.
   */
  readonly retryAfterMs: number;
  /** Milliseconds until the client's full quota is back (the state expires). */
  readonly resetAfterMs: number;
  /** When allowed by a queueing strategy: milliseconds the request must wait before it starts. */
  readonly delayMs: number;
}

/**
 * A rate-limiting algorithm as a value: a pure, deterministic function over a small numeric
 * state. It does no I/O and has no clock; `now` is given. Backends make it atomic.
 */
export interface Strategy {
  /** A stable identifier ("fixed-window", "gcra", ...) naming the algorithm and its parameters. */
  readonly name: string;
  /** The largest cost this strategy can ever admit at `rate`; larger costs are rejected at once. */
  capacity(rate: Rate): number;
  /**
   * Decides one request of `cost` units at time `now` (ms, floored to a whole millisecond).
   * `state` is what the last admitted request left, or `undefined`; a malformed or expired
   * state counts as none. `capacity(rate) * rate.windowMs` must stay below 2^52, as throttles
   * check.
   */
  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step;
  /**
   * Optional: {@link apply}, allowed to reuse `state` (which the caller owns and gives up) as the
   * returned state rather than copying it. A backend that keeps states in its own memory calls
   * it when consuming: the sliding log appends where it lies, and the others rewrite their few
   * numbers, so a decision makes no new array and copies none. Whoever keeps the returned state
   * beyond the decision copies it (the backend goes on writing into it). A subclass that
   * overrides `apply` must override this too, or the built-in ones fall back to its `apply`.
   */
  applyInPlace?(state: number[] | undefined, now: number, cost: number, rate: Rate): Step;
  /**
   * Optional, for a strategy that admits requests with a delay: the state as it would be had
   * the request that left `admitted` (of `cost` units, at `rate`) never been admitted, for a
   * request whose client went away before its turn. Pure; later requests decided on the result
   * are decided as if that request had not come. The backend stores it only while `admitted`
   * is still the client's state, so no later request loses its place.
   */
  release?(admitted: StrategyState, cost: number, rate: Rate): StrategyState;
  /**
   * Optional: the client's state after `points` units are taken from it (a penalty, `points >
   * 0`) or given back (a reward, `points < 0`) at `now`, outside any request. Pure, in whole
   * numbers, and never malformed. A reward never leaves more room than the strategy's capacity;
   * a penalty takes its points even past the limit where the state can carry it (a bucket goes
   * into debt, so the client waits longer), bounded so the client is never shut out for good.
   * Throttles' `penalty` and `reward` need it; backends store the result atomically.
   */
  adjust?(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState;
}

/** Whether `state` is a usable state of `length` numbers that has not expired at `now`. */
export function isLive(
  state: StrategyState | undefined,
  length: number,
  now: number,
): state is StrategyState {
  if (state === undefined || state.length !== length) return false;
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(state[i])) return false;
  }
  return (state[0] as number) > now;
}

/**
 * A state of two numbers, written into `owned` (a state its caller gave up: see
 * {@link Strategy.applyInPlace}) when that has two numbers, else a new array: the in-memory
 * backend then keeps its stored array, with no new one and no copy per decision.
 */
export function twoNumbers(owned: number[] | undefined, first: number, second: number): number[] {
  if (owned === undefined || owned.length !== 2) return [first, second];
  owned[0] = first;
  owned[1] = second;
  return owned;
}

/** A rejection that leaves `state` as it was. */
export function rejected(
  state: StrategyState,
  remaining: number,
  retryAfterMs: number,
  resetAfterMs: number,
): Step {
  return { state, allowed: false, remaining, retryAfterMs, resetAfterMs, delayMs: 0 };
}

/**
 * The answer for a cost above the strategy's capacity: never admissible, state untouched.
 * `remaining` is what a request of cost 0 (a peek) reports at the same moment.
 */
export function beyondCapacity(
  state: StrategyState | undefined,
  now: number,
  remaining: number,
): Step {
  const expiresAt = state?.[0] ?? now;
  return rejected(state ?? [], remaining, Number.POSITIVE_INFINITY, Math.max(0, expiresAt - now));
}
