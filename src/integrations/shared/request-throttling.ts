/**
 * What an adapter does with a request, whatever the framework: decide it with the core (one
 * verdict for its throttles), and turn the verdict into what to write: rate-limit headers, and
 * the `ConnectionThrottled` of a throttled request.
 *
 * @module
 */
import { ConnectionDenied, ConnectionThrottled } from "../../errors.js";
import type { AccessCheck } from "../../throttles/access.js";
import type { BaseThrottle } from "../../throttles/base.js";
import { decide } from "../../throttles/decide.js";
import { decideInOrder } from "../../throttles/in-order.js";
import { type Eventually, whenReady } from "../../throttles/sync-or-async.js";
import type { Departure } from "../../throttles/turn.js";
import { answerRejection, type Verdict } from "../../throttles/verdict.js";
import { appliesToEveryRequest, type MiddlewareThrottle } from "./middleware-throttle.js";
import type { Settings } from "./options.js";
import type { RateLimitDecision } from "./rate-limit-decision.js";
import { type HeaderList, rateLimitHeaders } from "./rate-limit-headers.js";
import { type ResponseEnding, refundWhenEnded } from "./refunds.js";
import { recordDecisions } from "./request-state.js";
import { deniedResponse, type ThrottledResponse, throttledResponse } from "./throttled-response.js";

/** What an adapter writes for a request. @internal */
export interface Answer {
  /** Rate-limit headers for every throttle applied to this request so far. */
  readonly headers: HeaderList;
  /**
   * Set when the request must be refused: throttled (`ConnectionThrottled`, 429 with
   * `Retry-After`), or its address denied (`ConnectionDenied`, 403, no `Retry-After`).
   */
  readonly throttled: ConnectionThrottled | ConnectionDenied | undefined;
  /** What to write for a refused request, unless it goes to the error handling. */
  readonly response?: ThrottledResponse;
  /** Every decision taken on the request so far, for the handler; `undefined` while none. */
  readonly decision?: RateLimitDecision | undefined;
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
 * client has gone first; `shadow` decides them all as in shadow mode. An answer, not a promise,
 * when the core decides at once. @internal
 */
export function throttleTogether<C extends object>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  settings: Settings,
  departure?: Departure,
  ending?: ResponseEnding,
  shadow?: boolean,
): Eventually<Answer> {
  let verdict: Eventually<Verdict<C>>;
  try {
    verdict = decide(throttles, connection, { mode: "consume", departure, shadow });
  } catch (error) {
    return deniedAnswer(error, settings);
  }
  const refunds =
    settings.refund && ending && refunder(throttles, connection, settings, ending, true);
  return answerFor(
    refunds ? whenReady(verdict, refunds) : verdict,
    throttles,
    connection,
    settings,
    departure,
  );
}

/**
 * Applies an app's middleware throttles one after another in the order given, each only where
 * its filter matches (`pathOf` reads the request's path, only if a filter needs it); the first
 * rejection answers and the rest are not consulted. Answered and abandoned like
 * {@link throttleTogether}. @internal
 */
export function throttleInOrder<C extends object>(
  entries: readonly MiddlewareThrottle<C>[],
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  pathOf: (connection: C) => string,
  method: string,
  settings: Settings,
  departure?: Departure,
  ending?: ResponseEnding,
): Eventually<Answer> {
  const { access, shadow } = settings;
  let verdict: Eventually<Verdict<C> | undefined>;
  try {
    verdict =
      access === undefined
        ? decideEntries(entries, throttles, connection, pathOf, method, departure, shadow)
        : whenReady((access as AccessCheck<C>)(connection), (exempt) =>
            exempt === true
              ? undefined
              : decideEntries(entries, throttles, connection, pathOf, method, departure, shadow),
          );
  } catch (error) {
    return deniedAnswer(error, settings);
  }
  const refunds =
    settings.refund && ending && refunder(throttles, connection, settings, ending, false);
  return answerFor(
    refunds ? whenReady(verdict, (ready) => ready && refunds(ready)) : verdict,
    throttles,
    connection,
    settings,
    departure,
  );
}

/**
 * The in-order verdict of the entries that apply to the request. A lone throttle without
 * filters is decided as it stands: the same verdict, without the walk's closures and arrays
 * (with them, about 1.5% of a Fastify server's CPU on `bench:http`, a sixth of Traffik's share).
 */
function decideEntries<C extends object>(
  entries: readonly MiddlewareThrottle<C>[],
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  pathOf: (connection: C) => string,
  method: string,
  departure: Departure | undefined,
  shadow: boolean | undefined,
): Eventually<Verdict<C>> {
  if (entries.length === 1 && appliesToEveryRequest(entries[0] as MiddlewareThrottle<C>)) {
    const alone = (throttles[0] as BaseThrottle<C>).alone;
    return decide(alone, connection, { mode: "consume", departure, shadow });
  }
  // Read when a filter first needs it: parsing a framework's path is no free getter.
  let path: string | undefined;
  const applies = (index: number) => {
    path ??= pathOf(connection);
    return (entries[index] as MiddlewareThrottle<C>).matches(connection, path, method);
  };
  return decideInOrder(throttles, connection, applies, departure, shadow);
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
 * Decides a request (`decide(request, response)`) and hands its answer to `then`, in the same
 * turn when it is ready at once; what it throws or rejects with goes to `next`. For adapters
 * whose frameworks take callbacks: with `decide` and `then` made once per middleware, a
 * request decided at once makes no closure here. @internal
 */
export function whenDecided<Q, R, N extends (error: Error) => void>(
  decide: (request: Q, response: R) => Eventually<Answer>,
  then: (answer: Answer, request: Q, response: R, next: N) => void,
  request: Q,
  response: R,
  next: N,
): void {
  let answer: Eventually<Answer>;
  try {
    answer = decide(request, response);
  } catch (error) {
    next(error as Error);
    return;
  }
  if (answer instanceof Promise) {
    answer.then((ready) => then(ready, request, response, next), next);
  } else then(answer, request, response, next);
}

/** Nothing to write: the request passes untouched (exempt by the middleware's access lists). */
const UNTOUCHED: Answer = Object.freeze({ headers: [], throttled: undefined });

/**
 * The answer for a denied address (403 and `{ detail }`, or the error for the framework's
 * error handling); anything else thrown goes on.
 */
function deniedAnswer(error: unknown, settings: Settings): Answer {
  if (!(error instanceof ConnectionDenied)) throw error;
  if (settings.respondWith === "error") return { headers: [], throttled: error };
  return { headers: [], throttled: error, response: deniedResponse(error) };
}

function answerFor<C extends object>(
  verdict: Eventually<Verdict<C> | undefined>,
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  settings: Settings,
  departure: Departure | undefined,
): Eventually<Answer> {
  // Not whenReady: a closure per request that a verdict taken at once does not need.
  const answer =
    verdict instanceof Promise
      ? verdict.then((ready) => answerOf(ready, throttles, connection, settings))
      : answerOf(verdict, throttles, connection, settings);
  if (!(answer instanceof Promise)) return answer;
  return answer.catch((error: unknown) => {
    if (departure?.gone && error === departure.reason) return ABANDONED;
    return deniedAnswer(error, settings);
  });
}

function answerOf<C extends object>(
  verdict: Verdict<C> | undefined,
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  settings: Settings,
): Eventually<Answer> {
  if (verdict === undefined) return UNTOUCHED;
  const decision = recordDecisions(connection, verdict.decisions, throttles);
  const headers = rateLimitHeaders(decision?.decisions ?? NO_DECISIONS, settings.headers);
  const admitted: Answer = { headers, throttled: undefined, decision };
  if (verdict.rejection === undefined) return admitted;
  return answerRejection(verdict, connection, admitted).then(undefined, (error: unknown) => {
    if (!(error instanceof ConnectionThrottled)) throw error;
    const throttled = withSettings(error, headers, settings.statusCode);
    if (settings.respondWith === "error") return { headers, throttled, decision };
    const written = throttledResponse(
      throttled,
      settings.message,
      connection,
      decision as RateLimitDecision,
    );
    return whenReady(written, (response) => ({ headers, throttled, response, decision }));
  });
}

const NO_DECISIONS: readonly never[] = [];

/**
 * The throttle's `ConnectionThrottled`, with the rate-limit headers the response carries and
 * the app's `statusCode`.
 */
function withSettings(
  error: ConnectionThrottled,
  headers: HeaderList,
  statusCode: number | undefined,
): ConnectionThrottled {
  if (headers.length === 0 && (statusCode === undefined || statusCode === error.status)) {
    return error;
  }
  return new ConnectionThrottled({
    waitMs: error.waitMs,
    detail: error.detail,
    status: statusCode ?? error.status,
    headers: { ...Object.fromEntries(headers), ...error.headers },
  });
}
