/**
 * Events into OpenTelemetry attributes. Only what a developer configured or Traffik decided goes
 * in: never the client's identity, hashed or not, nor anything the client sends, so a flood of
 * new identities cannot multiply the series, and no personal data reaches a metrics backend.
 * Fields are read by name: an event may grow fields, none of which ends up here unchosen.
 *
 * @module
 */
import type { Attributes } from "@opentelemetry/api";
import type {
  BackendErrorEvent,
  BackendStateEvent,
  DecisionEvent,
  ThrottledEvent,
} from "../events/types.js";

/** Whether a decision is a shadow throttle's, one that only watches: its event says `enforced: false`. @internal */
export function isShadow(event: DecisionEvent): boolean {
  return (event as { readonly enforced?: unknown }).enforced === false;
}

const throttleMode = (event: DecisionEvent) => (isShadow(event) ? "shadow" : "enforce");

/** The attributes of `traffik.decisions`. @internal */
export function decisionAttributes(event: DecisionEvent): Attributes {
  const attributes: Attributes = {
    "traffik.throttle.uid": event.uid,
    "traffik.throttle.mode": throttleMode(event),
    "traffik.strategy": event.strategy,
    "traffik.decision.mode": event.mode,
    "traffik.decision.outcome": event.allowed ? "allowed" : "throttled",
    "traffik.decision.source": event.source,
  };
  if (event.backend !== undefined) attributes["traffik.backend"] = event.backend;
  return attributes;
}

/** The attributes of `traffik.decision.duration`. @internal */
export function durationAttributes(event: DecisionEvent): Attributes {
  const attributes: Attributes = { "traffik.decision.source": event.source };
  if (event.backend !== undefined) attributes["traffik.backend"] = event.backend;
  return attributes;
}

/** The attributes of `traffik.backend.errors`. @internal */
export function backendErrorAttributes(event: BackendErrorEvent): Attributes {
  return {
    "traffik.throttle.uid": event.uid,
    "traffik.error.action": event.action,
    "error.type": errorType(event.error),
  };
}

/**
 * OpenTelemetry's `error.type`: the error's stable `code` (`ERR_TRAFFIK_BACKEND_TIMEOUT`, ...),
 * else its class's name; never its message, which carries addresses and details.
 */
function errorType(error: unknown): string {
  const code = (error as { readonly code?: unknown } | null | undefined)?.code;
  if (typeof code === "string" && code !== "") return code;
  return error instanceof Error ? error.name : "_OTHER";
}

/** The attributes of `traffik.backend.state_changes`. @internal */
export function stateAttributes(event: BackendStateEvent): Attributes {
  return { "traffik.backend": event.backend, "traffik.backend.state": event.state };
}

/** The attributes of the `traffik.throttled` span event. @internal */
export function throttledSpanEventAttributes(event: ThrottledEvent): Attributes {
  const attributes: Attributes = {
    "traffik.throttle.uid": event.uid,
    "traffik.throttle.mode": throttleMode(event),
    "traffik.strategy": event.strategy,
    "traffik.decision.source": event.source,
    "traffik.decision.limit": event.limit,
    "traffik.decision.remaining": event.remaining,
    "traffik.decision.retry_after_ms": event.retryAfterMs,
  };
  if (event.cost !== undefined) attributes["traffik.decision.cost"] = event.cost;
  if (event.backend !== undefined) attributes["traffik.backend"] = event.backend;
  return attributes;
}
