import type { BaseThrottle } from "./base.js";
import { decide } from "./decide.js";
import type { Decision } from "./decision.js";
import { signalDeparture } from "./turn.js";
import { answerRejection } from "./verdict.js";

/**
 * Applies several throttles to one connection all or nothing: either every throttle admits the
 * request and each counts it, or none counts anything. Decisions come back in the order given.
 * Exempt throttles (`UNLIMITED`) take no part. The throttles must share one backend, which
 * decides the group atomically. When the group is admitted with a queueing delay, the call
 * resolves once its turn comes; `signal` gives up that wait, and the call then rejects with the
 * signal's reason.
 *
 * @throws {ConfigurationError} when the throttles resolve to different backends.
 */
export async function tryHitAll<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options?: { signal?: AbortSignal },
): Promise<Decision[]> {
  const departure = signalDeparture(options?.signal);
  const verdict = await decide(throttles, connection, { mode: "consume", departure });
  return [...verdict.decisions];
}

/**
 * {@link tryHitAll}, then, when any throttle rejects, the first rejecting throttle's
 * `handleThrottled` with the longest wait among the rejections (so the client, retrying then,
 * passes them all). By default that throws `ConnectionThrottled`.
 */
export async function hitAll<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options?: { signal?: AbortSignal },
): Promise<Decision[]> {
  const departure = signalDeparture(options?.signal);
  const verdict = await decide(throttles, connection, { mode: "consume", departure });
  const decisions = [...verdict.decisions];
  return verdict.rejection === undefined
    ? decisions
    : answerRejection(verdict, connection, decisions);
}
