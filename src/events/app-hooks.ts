/**
 * Hooks an app sets once on its middleware (`ThrottleMiddleware`, `TraffikModule`), called for
 * every decision taken on the requests that pass through it: the middleware's throttles, the
 * routes' and any a handler calls. They travel on the request, as the app's backend does.
 *
 * @module
 */
import { ConfigurationError } from "../errors.js";
import type { ThrottleHooks } from "./types.js";

/** An app's checked hooks. @internal */
export interface AppHooks {
  /** Who set them, as an error names it (`"ThrottleMiddleware"`). */
  readonly owner: string;
  readonly hooks: ThrottleHooks;
  /** Whether `onDecision` or `onThrottled` is set: decisions are then watched. */
  readonly watchesDecisions: boolean;
}

const HOOK_NAMES = ["onDecision", "onThrottled", "onBackendError"] as const;

/** The names of the hook options, for the check of unknown keys. @internal */
export const APP_HOOK_OPTION_NAMES = {
  onDecision: true,
  onThrottled: true,
  onBackendError: true,
} as const;

/**
 * Checks an app's hook options; `undefined` when none is set, so an app without hooks costs
 * nothing per request. @internal
 * @throws {ConfigurationError} for a hook that is not a function.
 */
export function readAppHooks(owner: string, options: ThrottleHooks): AppHooks | undefined {
  for (const name of HOOK_NAMES) {
    const hook = options[name];
    if (hook !== undefined && typeof hook !== "function") {
      throw new ConfigurationError(`${owner}: ${name} must be a function.`);
    }
  }
  const { onDecision, onThrottled, onBackendError } = options;
  if (!onDecision && !onThrottled && !onBackendError) return undefined;
  return Object.freeze({
    owner,
    hooks: Object.freeze({ onDecision, onThrottled, onBackendError }),
    watchesDecisions: onDecision !== undefined || onThrottled !== undefined,
  });
}

const APP_HOOKS = Symbol("traffik.appHooks");

type WithAppHooks = { [APP_HOOKS]?: AppHooks };

/** Whether any app has hooks: until one does, no connection is looked at. */
let anyAttached = false;

/** Makes an app's hooks see every decision taken on this connection. @internal */
export function attachAppHooks(connection: object, hooks: AppHooks): void {
  anyAttached = true;
  (connection as WithAppHooks)[APP_HOOKS] = hooks;
}

/** The hooks of the app this connection passed through, if it has any. @internal */
export function appHooksOf(connection: unknown): AppHooks | undefined {
  if (!anyAttached || typeof connection !== "object" || connection === null) return undefined;
  return (connection as WithAppHooks)[APP_HOOKS];
}
