import type { ThrottleBackend } from "../backends/base.js";
import type { DecisionRequest } from "../backends/types.js";
import { ConfigurationError } from "../errors.js";
import type { Step } from "../strategies/strategy.js";
import { UNLIMITED } from "../unlimited.js";
import type { BaseThrottle } from "./base.js";
import type { Decision } from "./decision.js";
import { placesToGiveBack } from "./give-back.js";
import { type Departure, signalDeparture, waitForTurn } from "./turn.js";

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
export function tryHitAll<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options?: { signal?: AbortSignal },
): Promise<Decision[]> {
  return decideTogether(throttles, connection, signalDeparture(options?.signal));
}

/**
 * {@link tryHitAll}, with the wait for the group's turn given up when `departure` says the
 * client has gone. @internal
 */
export async function decideTogether<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  departure: Departure | undefined,
): Promise<Decision[]> {
  const prepared = await Promise.all(
    throttles.map((throttle) => throttle.prepare(connection, undefined)),
  );
  const decisions = throttles.map((throttle) => throttle.exempt);
  const members: { throttle: BaseThrottle<C>; index: number; request: DecisionRequest }[] = [];
  let backend: ThrottleBackend | undefined;
  prepared.forEach((entry, index) => {
    if (entry === UNLIMITED) return;
    if (backend !== undefined && entry.backend !== backend) {
      throw new ConfigurationError("Throttles applied all or nothing must share one backend.");
    }
    backend = entry.backend;
    members.push({ throttle: throttles[index] as BaseThrottle<C>, index, request: entry });
  });
  if (backend === undefined) return decisions;

  let steps: Step[];
  try {
    const answer = backend.decideAll(
      members.map((member) => member.request),
      "consume",
    );
    steps = answer instanceof Promise ? await backend.withinTimeout(answer) : answer;
  } catch (error) {
    // Each throttle's own onError speaks for it; any "raise" raises.
    for (const { throttle, index } of members) {
      decisions[index] = await throttle.decideOnError(error, connection);
    }
    return decisions;
  }
  const admitted = steps.every((step) => step.allowed);
  members.forEach(({ throttle, index, request }, i) => {
    const decision = throttle.toDecision(steps[i] as Step);
    // A throttle that would have admitted a rejected group counted nothing: its units remain.
    decisions[index] =
      admitted || !decision.allowed
        ? decision
        : {
            ...decision,
            remaining: Math.min(throttle.capacity, decision.remaining + request.cost),
          };
  });
  const delayMs = admitted ? Math.max(...decisions.map((d) => d.delayMs)) : 0;
  if (delayMs === 0) return decisions;
  const taken = members.map(({ request }, i) => ({ request, step: steps[i] as Step }));
  return waitForTurn(decisions, delayMs, departure, departure && placesToGiveBack(backend, taken));
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
  const decisions = await tryHitAll(throttles, connection, options);
  const firstRejected = decisions.findIndex((d) => !d.allowed);
  if (firstRejected !== -1) {
    const waitMs = Math.max(...decisions.map((d) => d.retryAfterMs));
    const decision = { ...(decisions[firstRejected] as Decision), retryAfterMs: waitMs };
    await (throttles[firstRejected] as BaseThrottle<C>).rejectWith(connection, decision);
  }
  return decisions;
}
