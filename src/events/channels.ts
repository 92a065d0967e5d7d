/**
 * The `node:diagnostics_channel` channels Traffik publishes on, named under `traffik:` as
 * undici and fastify name theirs. Nothing is built for a channel nobody subscribes to.
 *
 * @module
 */
import { type Channel, channel } from "node:diagnostics_channel";

/** The channel names, for `diagnostics_channel.subscribe(name, listener)`. */
export const CHANNELS = {
  /** Every decision: a {@link DecisionEvent}. */
  decision: "traffik:decision",
  /** Every rejection: a {@link ThrottledEvent}. */
  throttled: "traffik:throttled",
  /** Every `onError` decision of a backend failure: a {@link BackendErrorEvent}. */
  backendError: "traffik:backend-error",
  /** A backend ready, closed, or a node of it out and back: a {@link BackendStateEvent}. */
  backendState: "traffik:backend-state",
} as const;

/** @internal */
export const decisionChannel: Channel = channel(CHANNELS.decision);
/** @internal */
export const throttledChannel: Channel = channel(CHANNELS.throttled);
/** @internal */
export const backendErrorChannel: Channel = channel(CHANNELS.backendError);
/** @internal */
export const backendStateChannel: Channel = channel(CHANNELS.backendState);
