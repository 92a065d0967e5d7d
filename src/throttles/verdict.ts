/**
 * What a group of throttles answers for one connection, and the one place that knows the
 * group's rule: the first rejection answers, with the longest wait among the rejections, so
 * that a client retrying then passes them all. A shadow decision never rejects.
 *
 * @module
 */
import type { BaseThrottle } from "./base.js";
import type { Decision } from "./decision.js";

const RESOLVED = Promise.resolve();

/** The outcome of deciding a connection under one or more throttles. @internal */
export interface Verdict<C> {
  /** One decision per throttle consulted, in the order given: what rate-limit headers need. */
  readonly decisions: readonly Decision[];
  /**
   * When rejected: the first rejecting throttle's decision, its `retryAfterMs` the longest wait
   * among the rejections. `undefined` when admitted.
   */
  readonly rejection: Decision | undefined;
  /** The throttle whose `handleThrottled` answers the rejection. */
  readonly rejectedBy: BaseThrottle<C> | undefined;
}

/** Whether `decision` rejects its request: a shadow throttle's would-be rejection does not. @internal */
export function rejects(decision: Decision): boolean {
  return !decision.allowed && decision.shadow !== true;
}

/** The verdict of `decisions`, taken by `throttles` in the same order. @internal */
export function verdictOf<C>(
  throttles: readonly BaseThrottle<C>[],
  decisions: readonly Decision[],
): Verdict<C> {
  let rejected = -1;
  let waitMs = 0;
  for (let index = 0; index < decisions.length; index++) {
    const decision = decisions[index] as Decision;
    if (!rejects(decision)) continue;
    if (rejected === -1) rejected = index;
    waitMs = Math.max(waitMs, decision.retryAfterMs);
  }
  if (rejected === -1) return { decisions, rejection: undefined, rejectedBy: undefined };
  const first = decisions[rejected] as Decision;
  return {
    decisions,
    rejection: first.retryAfterMs === waitMs ? first : { ...first, retryAfterMs: waitMs },
    rejectedBy: throttles[rejected],
  };
}

/**
 * Answers a rejected verdict the throttle's way: its `handleThrottled`, which by default
 * throws `ConnectionThrottled`. Resolves to `value` when the handler returns. @internal
 */
export function answerRejection<C, T>(verdict: Verdict<C>, connection: C, value: T): Promise<T> {
  const { rejection, rejectedBy } = verdict;
  if (rejection === undefined || rejectedBy === undefined) return Promise.resolve(value);
  return answerRejected(rejectedBy, connection, rejection, value);
}

/**
 * Answers `rejection`, by `throttle`, its way: {@link answerRejection} for a decision already
 * known to reject. @internal
 */
export function answerRejected<C, T>(
  throttle: BaseThrottle<C>,
  connection: C,
  rejection: Decision,
  value: T,
): Promise<T> {
  const error = throttle.defaultRejection(rejection);
  if (error === undefined) return handledLater(throttle, connection, rejection, value);
  // The default handler would only throw this: rejecting with it, a turn later (see below),
  // rather than throwing it through an async function, took a rejection's promise from
  // 480–500 ns to 200–210 (`queueMicrotask` makes an AsyncResource: 270–300).
  return new Promise((_, reject) => {
    void RESOLVED.then(() => reject(error));
  });
}

async function handledLater<C, T>(
  throttle: BaseThrottle<C>,
  connection: C,
  rejection: Decision,
  value: T,
): Promise<T> {
  // Throw a turn later, once the caller awaits this promise: a promise rejected before it has
  // a handler costs Node's unhandled-rejection bookkeeping, which dominated a flood.
  await undefined;
  await throttle.rejectWith(connection, rejection);
  return value;
}
