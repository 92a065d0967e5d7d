import type { ThrottleBackend } from "../backends/base.js";
import type { DecisionRequest } from "../backends/types.js";
import type { Step, StrategyState } from "../strategies/strategy.js";

/** A request a backend admitted, with the step it was decided by. @internal */
export interface Taken {
  readonly request: DecisionRequest;
  readonly step: Step;
}

interface Place {
  readonly request: DecisionRequest;
  readonly admitted: StrategyState;
}

/**
 * What gives back the places that admitted requests took in their clients' queues, should their
 * client go before their turn (`waitForTurn` calls it then): each state whose strategy can
 * `release` a request is put back as it was without it, where the backend still holds the state
 * that request left (nothing queued behind it since). `undefined` when there is nothing to give
 * back. @internal
 */
export function placesToGiveBack(
  backend: ThrottleBackend,
  taken: readonly Taken[],
): (() => void) | undefined {
  const places: Place[] = [];
  for (const { request, step } of taken) {
    if (request.strategy.release === undefined || request.cost === 0) continue;
    if (!step.allowed || step.state.length === 0) continue;
    // Copied now: a backend may go on using the step's array as the state it stores.
    places.push({ request, admitted: [...step.state] });
  }
  if (places.length === 0) return undefined;
  // The latest first: within a group, an earlier request of the same client queued before it.
  const latestFirst = places.reverse();
  return () => {
    void giveBack(backend, latestFirst);
  };
}

/**
 * Best effort, one after the other, never rejecting: a place not given back (the backend
 * failed, or timed out) only keeps the client's own abandoned place taken until it drains.
 */
async function giveBack(backend: ThrottleBackend, places: readonly Place[]): Promise<void> {
  for (const { request, admitted } of places) {
    try {
      const restored = request.strategy.release?.(admitted, request.cost, request.rate);
      if (restored !== undefined) await backend.restoreState(request, admitted, restored);
    } catch {
      // Nothing to tell: the request is gone, and the client only waits its own turn longer.
    }
  }
}
