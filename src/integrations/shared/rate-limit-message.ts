/** What a client is told about a throttled WebSocket message. */
export interface RateLimitMessage {
  /** Always `"rate_limit"`, so a client can tell this answer from the app's messages. */
  readonly type: "rate_limit";
  /** Whole seconds to wait, rounded up, at least 1. */
  readonly retryAfter: number;
  /** The exact wait in whole milliseconds, rounded up. */
  readonly retryAfterMs: number;
  /** A sentence for the client. */
  readonly detail: string;
  /** The uid of the throttle that refused the message. */
  readonly policy: string;
}

/** The answer to a throttled message, the same from `traffik/ws` and `traffik/nestjs`. */
export function rateLimitMessage(policy: string, retryAfterMs: number): RateLimitMessage {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return {
    type: "rate_limit",
    retryAfter,
    retryAfterMs,
    detail: `Too many messages. Retry in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`,
    policy,
  };
}
