/**
 * What an adapter does with a request, whatever the framework: decide it with the core (one
 * verdict for its throttles), and turn the verdict into what to write: rate-limit headers, and
 * the `ConnectionThrottled` of a throttled request.
 *
 * @module
 */
import { ConnectionThrottled } from "../../errors.js";
import type { BaseThrottle } from "../../throttles/base.js";
import { decide } from "../../throttles/decide.js";
import { decideInOrder } from "../../throttles/in-order.js";
import { type Eventually, whenReady } from "../../throttles/sync-or-async.js";
import type { Departure } from "../../throttles/turn.js";
import { answerRejection, type Verdict } from "../../throttles/verdict.js";
import type { MiddlewareThrottle } from "./middleware-throttle.js";
import type { Settings } from "./options.js";
import { type HeaderList, rateLimitHeaders } from "./rate-limit-headers.js";
import { type ResponseEnding, refundWhenEnded } from "./refunds.js";
import { recordDecisions } from "./request-state.js";

/** What an adapter writes for a request. @internal */
export interface Answer {
  /** Rate-limit headers for every throttle applied to this request so far. */
  readonly headers: HeaderList;
  /** Set when the request must be answered as throttled. */
  readonly throttled: ConnectionThrottled | undefined;
  /**
   * Set when the client went away while the request waited for its turn: nothing may run for
   * it, and there is nobody to answer.
   */
  readonly abandoned?: true;
}

/** The answer for a request whose client went away while it waited for its turn. */
const ABANDONED: Answer = Object.freeze({ headers: [], throttled: undefined, abandoned: true });

/**
 * Applies a route's throttles all or nothing. A throttled request goes to the first rejecting
 * throttle's `handleThrottled`: a thrown `ConnectionThrottled` makes the answer, anything else
 * thrown propagates, and a handler that returns lets the request through. A request admitted
 * with a queueing delay is decided when its turn comes, or abandoned when `departure` says its
 * client has gone first. An answer, not a promise, when the core decides at once. @internal
 */
export function throttleTogether<C extends object>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  settings: Settings,
  departure?: Departure,
  ending?: ResponseEnding,
): Eventually<Answer> {
  const verdict = decide(throttles, connection, { mode: "consume", departure });
  const refunds =
    settings.refund && ending && refunder(throttles, connection, settings, ending, true);
  return answerFor(
    refunds ? whenReady(verdict, refunds) : verdict,
    connection,
    settings,
    departure,
  );
}

/**
 * Applies an app's middleware throttles one after another in the order given, each only where
 * its filter matches; the first rejection answers and the rest are not consulted. Answered and
 * abandoned like {@link throttleTogether}. @internal
 */
export function throttleInOrder<C extends object>(
  entries: readonly MiddlewareThrottle<C>[],
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  path: string,
  method: string,
  settings: Settings,
  departure?: Departure,
  ending?: ResponseEnding,
): Eventually<Answer> {
  const applies = (index: number) =>
    (entries[index] as MiddlewareThrottle<C>).matches(connection, path, method);
  const verdict = decideInOrder(throttles, connection, applies, departure);
  const refunds =
    settings.refund && ending && refunder(throttles, connection, settings, ending, false);
  return answerFor(
    refunds ? whenReady(verdict, refunds) : verdict,
    connection,
    settings,
    departure,
  );
}

/**
 * What arranges the refunds of a verdict (see `refunds.ts`): for the throttles that counted
 * the request, the whole group's when it was admitted all or nothing, else none; in order,
 * each one that admitted it before any rejection.
 */
function refunder<C extends object>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  settings: Settings,
  ending: ResponseEnding,
  together: boolean,
): (verdict: Verdict<C>) => Verdict<C> {
  return (verdict) => {
    // A group rejected all or nothing counted nothing, whatever its members would have said.
    if (together && verdict.rejection !== undefined) return verdict;
    if (settings.refund !== undefined) {
      refundWhenEnded(settings.refund, ending, throttles, verdict.decisions, connection);
    }
    return verdict;
  };
}

/**
 * Runs `decide` and hands its answer to `then`, synchronously when it is ready at once; what
 * it throws or rejects with goes to `fail`. For adapters whose frameworks take callbacks. @internal
 */
export function whenDecided(
  decide: () => Eventually<Answer>,
  then: (answer: Answer) => void,
  fail: (error: unknown) => void,
): void {
  let answer: Eventually<Answer>;
  try {
    answer = decide();
  } catch (error) {
    fail(error);
    return;
  }
  if (answer instanceof Promise) answer.then(then, fail);
  else then(answer);
}

/** The response body of a throttled request. */
export function throttledBody(error: ConnectionThrottled): { detail: string; retryAfter: number } {
  return { detail: error.detail, retryAfter: error.retryAfter };
}

function answerFor<C extends object>(
  verdict: Eventually<Verdict<C>>,
  connection: C,
  settings: Settings,
  departure: Departure | undefined,
): Eventually<Answer> {
  const answer = whenReady(verdict, (ready) => answerOf(ready, connection, settings));
  if (!(answer instanceof Promise) || departure === undefined) return answer;
  return answer.catch((error: unknown) => {
    if (departure.gone && error === departure.reason) return ABANDONED;
    throw error;
  });
}

function answerOf<C extends object>(
  verdict: Verdict<C>,
  connection: C,
  settings: Settings,
): Eventually<Answer> {
  const decisions = recordDecisions(connection, verdict.decisions);
  const headers = rateLimitHeaders(decisions, settings.headers);
  const admitted: Answer = { headers, throttled: undefined };
  if (verdict.rejection === undefined) return admitted;
  return answerRejection(verdict, connection, admitted).catch((error: unknown) => {
    if (!(error instanceof ConnectionThrottled)) throw error;
    return { headers, throttled: withRateLimitHeaders(error, headers) };
  });
}

/** The throttle's `ConnectionThrottled`, with the rate-limit headers the response carries. */
function withRateLimitHeaders(
  error: ConnectionThrottled,
  headers: HeaderList,
): ConnectionThrottled {
  if (headers.length === 0) return error;
  return new ConnectionThrottled({
    waitMs: error.waitMs,
    detail: error.detail,
    status: error.status,
    headers: { ...Object.fromEntries(headers), ...error.headers },
  });
}
