/**
 * Publishing helpers: each checks for a listener (a channel subscriber or a hook) before it
 * builds an event, so a decision nobody watches costs a few property reads.
 *
 * @module
 */
import type { BackendError } from "../errors.js";
import type { Decision } from "../throttles/decision.js";
import type { ErrorAction } from "../throttles/options.js";
import type { PreparedRequest } from "../throttles/prepare.js";
import type { Unlimited } from "../unlimited.js";
import { type AppHooks, appHooksOf } from "./app-hooks.js";
import {
  backendErrorChannel,
  backendStateChannel,
  decisionChannel,
  throttledChannel,
} from "./channels.js";
import { type EventIdentity, eventIdentity } from "./identity.js";
import type {
  BackendErrorEvent,
  BackendStateEvent,
  DecisionEvent,
  Logger,
  ThrottledEvent,
  ThrottleHooks,
} from "./types.js";

/** What a throttle tells its events: its hooks, its identity form, its logger. @internal */
export interface ThrottleEvents {
  readonly uid: string;
  readonly strategyName: string;
  readonly hooks: ThrottleHooks;
  /** Whether `onDecision` or `onThrottled` is set: decisions are then watched. */
  readonly watchesDecisions: boolean;
  readonly identity: EventIdentity;
  readonly logger: Logger | undefined;
}

/**
 * Whether a decision by these throttles on this connection has a listener (a channel's
 * subscriber, a throttle's hook, or the hook of the app the connection passed through): only
 * then is it timed and published. @internal
 */
export function decisionsWatched(
  throttles: readonly { readonly events: ThrottleEvents }[],
  connection: unknown,
): boolean {
  if (decisionChannel.hasSubscribers || throttledChannel.hasSubscribers) return true;
  for (const throttle of throttles) if (throttle.events.watchesDecisions) return true;
  return appHooksOf(connection)?.watchesDecisions === true;
}

/**
 * Publishes one throttle's decision, and its rejection when it counted, to the channels, the
 * throttle's hooks, then the hooks of the app the connection passed through. Exempt decisions
 * publish nothing: no identity or backend took part. @internal
 */
export function publishDecision(
  events: ThrottleEvents,
  decision: Decision,
  request: PreparedRequest | Unlimited | undefined,
  mode: "consume" | "peek",
  cost: number | undefined,
  durationMs: number,
  app: AppHooks | undefined,
): void {
  if (decision.source === "exempt") return;
  const known = typeof request === "object" ? request : undefined;
  const event: DecisionEvent = {
    uid: decision.uid,
    identity: known && eventIdentity(known.identity, events.identity),
    strategy: events.strategyName,
    mode,
    cost: known?.cost ?? cost,
    allowed: decision.allowed,
    enforced: decision.shadow !== true,
    remaining: decision.remaining,
    limit: decision.limit,
    retryAfterMs: decision.retryAfterMs,
    delayMs: decision.delayMs,
    source: decision.source,
    backend: known?.backend.namespace,
    durationMs,
  };
  if (decisionChannel.hasSubscribers) decisionChannel.publish(event);
  const throttleOwner = `Throttle "${events.uid}"`;
  const { onDecision, onThrottled } = events.hooks;
  if (onDecision) callHook(events, throttleOwner, "onDecision", onDecision, event);
  const appHooks = app?.hooks;
  if (appHooks?.onDecision) {
    callHook(events, app?.owner ?? "", "onDecision", appHooks.onDecision, event);
  }
  // A peek throttles no one: only a counted request's rejection is one.
  if (event.allowed || mode === "peek") return;
  if (throttledChannel.hasSubscribers) throttledChannel.publish(event);
  const throttled = event as ThrottledEvent;
  if (onThrottled) callHook(events, throttleOwner, "onThrottled", onThrottled, throttled);
  if (appHooks?.onThrottled) {
    callHook(events, app?.owner ?? "", "onThrottled", appHooks.onThrottled, throttled);
  }
}

/**
 * Publishes `onError`'s decision of a backend failure, to the channel, the throttle's hook and
 * the hook of the app the connection passed through. @internal
 */
export function publishBackendError(
  events: ThrottleEvents,
  action: ErrorAction,
  error: BackendError,
  connection: unknown,
): void {
  const hook = events.hooks.onBackendError;
  const app = appHooksOf(connection);
  const appHook = app?.hooks.onBackendError;
  if (!backendErrorChannel.hasSubscribers && hook === undefined && appHook === undefined) return;
  const event: BackendErrorEvent = { uid: events.uid, action, error };
  if (backendErrorChannel.hasSubscribers) backendErrorChannel.publish(event);
  if (hook) callHook(events, `Throttle "${events.uid}"`, "onBackendError", hook, event);
  if (appHook) callHook(events, app?.owner ?? "", "onBackendError", appHook, event);
}

/** Publishes a backend's state change. @internal */
export function publishBackendState(event: BackendStateEvent): void {
  if (backendStateChannel.hasSubscribers) backendStateChannel.publish(event);
}

/**
 * Calls a hook; one that throws must not turn an admitted request into a failure, so its
 * error is reported (to the throttle's logger, else as a process warning) and the decision
 * stands. `owner` names who set the hook: the throttle, or the app's middleware.
 */
function callHook<E>(
  events: ThrottleEvents,
  owner: string,
  name: string,
  hook: (event: E) => void,
  event: E,
): void {
  try {
    hook(event);
  } catch (error) {
    const message = `${owner}: its ${name} hook threw: ${error instanceof Error ? error.message : String(error)}`;
    if (events.logger) events.logger.error({ uid: events.uid, hook: name, error }, message);
    else process.emitWarning(message, { code: "TRAFFIK_HOOK_FAILED" });
  }
}
