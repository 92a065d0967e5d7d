import { BackendError } from "../../errors.js";
import type { Step } from "../../strategies/strategy.js";

/**
 * A step from the decision function's text for one request:
 * "allowed,remaining,retry after,reset after,delay[,state...]" (see `sql/decide.ts`).
 */
export function stepFrom(text: unknown): Step {
  const parts = typeof text === "string" ? text.split(",") : [];
  if (parts.length < 5) {
    throw new BackendError(`PostgreSQL answered a malformed decision: ${JSON.stringify(text)}`);
  }
  const allowed = parts[0] === "1";
  return {
    allowed,
    remaining: Number(parts[1]),
    retryAfterMs: parts[2] === "inf" ? Number.POSITIVE_INFINITY : Number(parts[2]),
    resetAfterMs: Number(parts[3]),
    delayMs: Number(parts[4]),
    state: parts.length > 5 ? parts.slice(5).map(Number) : [],
  };
}
