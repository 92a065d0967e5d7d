import {
  EPSILON,
  isLive,
  rejected,
  type Step,
  type StrategyState,
  wholeUnits,
} from "./strategy.js";

/**
 * The token bucket both token-bucket strategies share. The bucket holds up to `burst` tokens,
 * refills `refillPerMs` tokens a millisecond, starts full, and may be drawn down to `-maxDebt`.
 * State: `[fullAt, tokens, updatedAt]`, where `fullAt` is when the bucket is full again.
 */
export function tokenBucketStep(
  state: StrategyState | undefined,
  now: number,
  cost: number,
  burst: number,
  maxDebt: number,
  refillPerMs: number,
): Step {
  let tokens = burst;
  if (isLive(state, 3, now)) {
    const updatedAt = state[2] as number;
    tokens = Math.min(burst, (state[1] as number) + Math.max(0, now - updatedAt) * refillPerMs);
  }
  const available = tokens + maxDebt;
  if (cost > available + EPSILON) {
    const retryAfterMs = (cost - available) / refillPerMs;
    return rejected(
      state ?? [],
      wholeUnits(available),
      retryAfterMs,
      (burst - tokens) / refillPerMs,
    );
  }
  const left = tokens - cost;
  const resetAfterMs = Math.max(0, (burst - left) / refillPerMs);
  return {
    state: [now + resetAfterMs, left, now],
    allowed: true,
    remaining: wholeUnits(left + maxDebt),
    retryAfterMs: 0,
    resetAfterMs,
    delayMs: 0,
  };
}
