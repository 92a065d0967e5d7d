import type { Decision } from "../../throttles/decision.js";
import {
  DEFAULT_SETTINGS,
  type IntegrationOptions,
  refundSetting,
  type Settings,
} from "./options.js";

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

/** Settings from explicit options, else from the app's `ThrottleMiddleware`, else defaults. @internal */
export function settingsFor(connection: object, options: IntegrationOptions | undefined): Settings {
  const inherited = (connection as WithState)[STATE]?.settings ?? DEFAULT_SETTINGS;
  if (options === undefined) return inherited;
  return {
    headers: options.headers ?? inherited.headers,
    respondWith: options.respondWith ?? inherited.respondWith,
    backend: inherited.backend,
    refund: refundSetting(options, inherited.refund),
  };
}

/** Makes the app's settings (and backend) visible to the routes this request reaches. @internal */
export function shareSettings(connection: object, settings: Settings): void {
  stateOf(connection).settings = settings;
  settings.backend?.attachTo(connection);
}

/**
 * Adds `decisions` to those taken on this request so far (the app's middleware throttles, then
 * a route's), and returns them all: what the rate-limit headers report. @internal
 */
export function recordDecisions(
  connection: object,
  decisions: readonly Decision[],
): readonly Decision[] {
  const state = stateOf(connection);
  // The decisions of a verdict are a fresh array, so the first can be kept and grown.
  if (state.decisions === undefined) state.decisions = decisions as Decision[];
  else state.decisions.push(...decisions);
  return state.decisions;
}
