import type { DegradedStep } from "../backends/degraded/backend.js";
import { InvalidCost } from "../errors.js";
import type { Step } from "../strategies/strategy.js";
import type { Decision } from "./decision.js";
import type { Policy } from "./policy.js";

/**
 * The decision for a backend's answer under a throttle's policy: durations in whole ms rounded
 * up, a rejection's wait at least `minWaitPeriod` and 1 ms. @internal
 * @throws {InvalidCost} for a rejection that no wait would turn into an admission.
 */
export function stepDecision(policy: Policy<never>, step: Step): Decision {
  const allowed = step.allowed;
  if (!allowed && !Number.isFinite(step.retryAfterMs)) {
    // Only a strategy whose capacity() understates what it rejects gets here.
    throw new InvalidCost(
      `Throttle "${policy.uid}": ${policy.strategy.name} can never admit this request.`,
      undefined,
      policy.capacity,
    );
  }
  return {
    allowed,
    uid: policy.uid,
    rate: policy.rate,
    limit: policy.capacity,
    remaining: step.remaining,
    retryAfterMs: allowed ? 0 : Math.max(1, Math.ceil(step.retryAfterMs), policy.minWaitPeriod),
    resetAfterMs: Math.ceil(step.resetAfterMs),
    delayMs: Math.ceil(step.delayMs),
    source: (step as Partial<DegradedStep>).degraded === true ? "degraded" : "backend",
  };
}
