import { type RateLimitMessage, rateLimitMessage } from "../shared/rate-limit-message.js";

/** The event a client is sent, or its acknowledgement is called with, for a throttled event. */
export const RATE_LIMIT_EVENT = "rate_limit";

/**
 * What a client is told about a throttled Socket.IO event: the same fields as `traffik/ws`'s
 * {@link RateLimitMessage}, and the name of the event refused.
 */
export interface RateLimitEvent extends RateLimitMessage {
  /** The name of the event refused. */
  readonly event: string;
}

/** The answer to a throttled event. */
export function rateLimitEvent(
  policy: string,
  retryAfterMs: number,
  event: string,
): RateLimitEvent {
  return { ...rateLimitMessage(policy, retryAfterMs), event };
}
