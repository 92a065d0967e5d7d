import type { ThrottleBackend } from "../../backends/base.js";
import { ConfigurationError, ConnectionThrottled } from "../../errors.js";
import { decideTogether } from "../../throttles/all-or-nothing.js";
import { BaseThrottle } from "../../throttles/base.js";
import type { Decision } from "../../throttles/decision.js";
import type { Departure } from "../../throttles/turn.js";
import type { MiddlewareThrottle } from "./middleware-throttle.js";
import { type HeaderFormat, type HeaderList, rateLimitHeaders } from "./rate-limit-headers.js";

/** How an integration answers; the same options in every framework. */
export interface IntegrationOptions {
  /** Rate-limit header fields on admitted and throttled responses. @default "draft-11" */
  headers?: HeaderFormat;
  /**
   * `"json"` answers a throttled request itself: its status (429), `Retry-After`, the rate-limit
   * headers and `{ "detail", "retryAfter" }`. `"error"` hands the `ConnectionThrottled` (its
   * `headers` include the rate-limit fields) to the framework's error handling instead: Express
   * error middleware, Fastify's `setErrorHandler`, Hono's `onError`. @default "json"
   */
  respondWith?: "json" | "error";
}

/** Settings in force for one request. @internal */
export interface Settings {
  readonly headers: HeaderFormat;
  readonly respondWith: "json" | "error";
  /** The app's backend, for throttles without their own. */
  readonly backend: ThrottleBackend | undefined;
}

/** What became of a request. @internal */
export interface Verdict {
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

/** The verdict on a request whose client went away while it waited for its turn. */
const ABANDONED: Verdict = Object.freeze({ headers: [], throttled: undefined, abandoned: true });

/** What is known about one request: the app's settings, and the decisions taken so far. */
interface RequestState {
  settings: Settings | undefined;
  decisions: Decision[] | undefined;
}

/** Where a request's state lives on the request object (see `ThrottleBackend.attachTo`). */
const STATE = Symbol("traffik.request");

type WithState = { [STATE]?: RequestState };

function stateOf(connection: object): RequestState {
  let state = (connection as WithState)[STATE];
  if (state === undefined) {
    state = { settings: undefined, decisions: undefined };
    (connection as WithState)[STATE] = state;
  }
  return state;
}

const DEFAULT_SETTINGS: Settings = Object.freeze({
  headers: "draft-11",
  respondWith: "json",
  backend: undefined,
});

/** Settings from explicit options, else from the app's `ThrottleMiddleware`, else defaults. @internal */
export function settingsFor(connection: object, options: IntegrationOptions | undefined): Settings {
  const inherited = (connection as WithState)[STATE]?.settings ?? DEFAULT_SETTINGS;
  if (options === undefined) return inherited;
  return {
    headers: options.headers ?? inherited.headers,
    respondWith: options.respondWith ?? inherited.respondWith,
    backend: inherited.backend,
  };
}

/** Makes the app's settings visible to the routes this request reaches. @internal */
export function shareSettings(connection: object, settings: Settings): void {
  stateOf(connection).settings = settings;
  settings.backend?.attachTo(connection);
}

/** Checks the options every integration takes, naming what is wrong. @internal */
export function checkOptions(options: IntegrationOptions | undefined, where: string): void {
  const headers = options?.headers;
  const formats: readonly unknown[] = ["draft-11", "draft-7", "draft-6", "legacy", false];
  if (headers !== undefined && !formats.includes(headers)) {
    throw new ConfigurationError(
      `${where}: headers must be "draft-11", "draft-7", "draft-6", "legacy" or false, got ${JSON.stringify(headers)}.`,
    );
  }
  const respondWith = options?.respondWith;
  if (respondWith !== undefined && respondWith !== "json" && respondWith !== "error") {
    throw new ConfigurationError(
      `${where}: respondWith must be "json" or "error", got ${JSON.stringify(respondWith)}.`,
    );
  }
}

/** Checks that every argument is a throttle, so a typo fails at startup, not per request. @internal */
export function checkThrottles<C>(throttles: readonly unknown[], where: string): BaseThrottle<C>[] {
  for (const throttle of throttles) {
    if (!(throttle instanceof BaseThrottle)) {
      throw new ConfigurationError(`${where}: expected throttles, got ${String(throttle)}.`);
    }
  }
  return throttles as BaseThrottle<C>[];
}

/**
 * Applies a route's throttles all or nothing. A throttled request goes to the first rejecting
 * throttle's `handleThrottled`: a thrown `ConnectionThrottled` makes the verdict, anything else
 * thrown propagates, and a handler that returns lets the request through. A request admitted
 * with a queueing delay is decided when its turn comes, or abandoned when `departure` says its
 * client has gone first. Synchronous when the backend decides synchronously, nothing is
 * throttled and nothing waits, which spares the hot path a few promises. @internal
 */
export function throttleTogether<C extends object>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  settings: Settings,
  departure?: Departure,
): Verdict | Promise<Verdict> {
  if (throttles.length === 1) {
    const throttle = throttles[0] as BaseThrottle<C>;
    const decision = throttle.decideNow(connection, departure);
    if (decision instanceof Promise) {
      return unlessAbandoned(
        decision.then((d) => verdictFor(connection, settings, [d], throttles)),
        departure,
      );
    }
    return verdictFor(connection, settings, [decision], throttles);
  }
  return unlessAbandoned(
    decideTogether(throttles, connection, departure).then((decisions) =>
      verdictFor(connection, settings, decisions, throttles),
    ),
    departure,
  );
}

/**
 * Applies app-wide throttles one after another in the order given, each only where its filter
 * matches; the first rejection answers and the rest are not consulted. Synchronous while the
 * filters and the backend are and nothing waits for its turn; abandoned like
 * {@link throttleTogether}. @internal
 */
export function throttleInOrder<C extends object>(
  entries: readonly MiddlewareThrottle<C>[],
  connection: C,
  path: string,
  method: string,
  settings: Settings,
  departure?: Departure,
): Verdict | Promise<Verdict> {
  const decisions: Decision[] = [];
  const applied: BaseThrottle<C>[] = [];
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index] as MiddlewareThrottle<C>;
    const matches = entry.matches(connection, path, method);
    if (matches === false) continue;
    const decision = matches === true ? entry.throttle.decideNow(connection, departure) : undefined;
    if (decision === undefined || decision instanceof Promise) {
      // A hook or a backend answered with a promise, or a request waits for its turn: finish
      // the rest asynchronously.
      const rest = async () => {
        if (!(await matches)) return inOrderFrom(index + 1);
        const awaited = await (decision ?? entry.throttle.decideNow(connection, departure));
        decisions.push(awaited);
        applied.push(entry.throttle);
        return awaited.allowed
          ? inOrderFrom(index + 1)
          : verdictFor(connection, settings, decisions, applied);
      };
      return unlessAbandoned(rest(), departure);
    }
    decisions.push(decision);
    applied.push(entry.throttle);
    if (!decision.allowed) break;
  }
  return verdictFor(connection, settings, decisions, applied);

  async function inOrderFrom(start: number): Promise<Verdict> {
    for (let index = start; index < entries.length; index++) {
      const entry = entries[index] as MiddlewareThrottle<C>;
      if (!(await entry.matches(connection, path, method))) continue;
      const decision = await entry.throttle.decideNow(connection, departure);
      decisions.push(decision);
      applied.push(entry.throttle);
      if (!decision.allowed) break;
    }
    return verdictFor(connection, settings, decisions, applied);
  }
}

/**
 * Runs `decide` and hands its verdict to `then`, synchronously when it is ready at once; what
 * it throws or rejects with goes to `fail`. @internal
 */
export function whenDecided(
  decide: () => Verdict | Promise<Verdict>,
  then: (verdict: Verdict) => void,
  fail: (error: unknown) => void,
): void {
  let verdict: Verdict | Promise<Verdict>;
  try {
    verdict = decide();
  } catch (error) {
    fail(error);
    return;
  }
  if (verdict instanceof Promise) verdict.then(then, fail);
  else then(verdict);
}

/** The response body of a throttled request. */
export function throttledBody(error: ConnectionThrottled): { detail: string; retryAfter: number } {
  return { detail: error.detail, retryAfter: error.retryAfter };
}

/** The verdict, or {@link ABANDONED} once the client has gone while the request waited. */
function unlessAbandoned(
  verdict: Promise<Verdict>,
  departure: Departure | undefined,
): Promise<Verdict> {
  if (departure === undefined) return verdict;
  return verdict.catch((error: unknown) => {
    if (departure.gone && error === departure.reason) return ABANDONED;
    throw error;
  });
}

function verdictFor<C extends object>(
  connection: C,
  settings: Settings,
  decisions: Decision[],
  throttles: readonly BaseThrottle<C>[],
): Verdict | Promise<Verdict> {
  const state = stateOf(connection);
  // The arrays given here are fresh, so the first can be kept and grown.
  if (state.decisions === undefined) state.decisions = decisions;
  else state.decisions.push(...decisions);
  const headers = rateLimitHeaders(state.decisions, settings.headers);
  let rejected = -1;
  let waitMs = 0;
  for (let index = 0; index < decisions.length; index++) {
    const decision = decisions[index] as Decision;
    if (decision.allowed) continue;
    if (rejected === -1) rejected = index;
    waitMs = Math.max(waitMs, decision.retryAfterMs);
  }
  if (rejected === -1) return { headers, throttled: undefined };
  const decision = { ...(decisions[rejected] as Decision), retryAfterMs: waitMs };
  return (throttles[rejected] as BaseThrottle<C>).rejectWith(connection, decision).then(
    () => ({ headers, throttled: undefined }),
    (error: unknown) => {
      if (!(error instanceof ConnectionThrottled)) throw error;
      return { headers, throttled: withRateLimitHeaders(error, headers) };
    },
  );
}

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

/** Arguments of `throttled(...)`: optional options first, then the throttles. */
export type ThrottledArgs<C> = [IntegrationOptions, ...BaseThrottle<C>[]] | BaseThrottle<C>[];

/** Splits and checks `throttled(...)` arguments. @internal */
export function parseThrottledArgs<C>(args: ThrottledArgs<C>): {
  options: IntegrationOptions | undefined;
  throttles: BaseThrottle<C>[];
} {
  const first = args[0];
  const options = first instanceof BaseThrottle || first === undefined ? undefined : first;
  const throttles = options === undefined ? args : args.slice(1);
  checkOptions(options, "throttled()");
  if (throttles.length === 0)
    throw new ConfigurationError("throttled() needs at least one throttle.");
  return { options, throttles: checkThrottles<C>(throttles, "throttled()") };
}
