import { attachAppHooks } from "../../events/app-hooks.js";
import type { Decision } from "../../throttles/decision.js";
import { DEFAULT_SETTINGS, type Settings, type SettingsOverrides } from "./options.js";
import { RecordedDecisions } from "./rate-limit-decision.js";

/** What is known about one request: the app's settings, and the decisions taken so far. */
interface RequestState {
  settings: Settings | undefined;
  recorded: RecordedDecisions | undefined;
}

/** Where a request's state lives on the request object (see `ThrottleBackend.attachTo`). */
const STATE = Symbol("traffik.request");

type WithState = { [STATE]?: RequestState };

function stateOf(connection: object): RequestState {
  let state = (connection as WithState)[STATE];
  if (state === undefined) {
    state = { settings: undefined, recorded: undefined };
    (connection as WithState)[STATE] = state;
  }
  return state;
}

/** Settings from a route's options, else from the app's `ThrottleMiddleware`, else defaults. @internal */
export function settingsFor(connection: object, options: SettingsOverrides | undefined): Settings {
  const inherited = (connection as WithState)[STATE]?.settings ?? DEFAULT_SETTINGS;
  if (options === undefined) return inherited;
  const respondWith = options.respondWith ?? inherited.respondWith;
  return {
    headers: options.headers ?? inherited.headers,
    respondWith,
    statusCode: options.statusCode ?? inherited.statusCode,
    // A route that hands throttled requests to the error handler writes no body of its own.
    message: respondWith === "error" ? undefined : (options.message ?? inherited.message),
    backend: inherited.backend,
    hooks: inherited.hooks,
    refund: options.refund === undefined ? inherited.refund : (options.refund ?? undefined),
  };
}

/**
 * Makes the app's settings (its backend, its hooks) visible to the routes this request
 * reaches. @internal
 */
export function shareSettings(connection: object, settings: Settings): void {
  stateOf(connection).settings = settings;
  settings.backend?.attachTo(connection);
  if (settings.hooks !== undefined) attachAppHooks(connection, settings.hooks);
}

/**
 * Adds `decisions`, taken by `throttles` (the throttles consulted, a superset for an app's
 * filtered middleware throttles), to those taken on this request so far: the app's middleware
 * throttles, then a route's. Returns them all, what the rate-limit headers report and the
 * handler reads; `undefined` while none was taken. @internal
 */
export function recordDecisions(
  connection: object,
  decisions: readonly Decision[],
  throttles: readonly { readonly uid: string; readonly strategy: { readonly name: string } }[],
): RecordedDecisions | undefined {
  const state = stateOf(connection);
  if (state.recorded !== undefined) state.recorded.record(decisions, throttles);
  // The decisions of a verdict are a fresh array, so the first can be kept and grown.
  else if (decisions.length > 0)
    state.recorded = new RecordedDecisions(decisions as Decision[], throttles);
  return state.recorded;
}

/** The decisions taken on this request so far, if any. @internal */
export function recordedDecisions(connection: object): RecordedDecisions | undefined {
  return (connection as WithState)[STATE]?.recorded;
}
