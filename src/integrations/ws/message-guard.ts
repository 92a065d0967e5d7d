import { ConfigurationError } from "../../errors.js";
import { tryHitAll } from "../../throttles/all-or-nothing.js";
import { BaseThrottle } from "../../throttles/base.js";
import type { Decision } from "../../throttles/decision.js";
import type { AnyThrottle } from "../../throttles/options.js";
import { rateLimitMessage } from "./rate-limit-message.js";

/**
 * What happens to a throttled message:
 * - `"error"`: the client gets `{ "type": "rate_limit", "retryAfter", "retryAfterMs", "detail",
 *   "policy" }` (seconds rounded up, ms exact, the throttle's uid) and the socket stays open;
 * - `"drop"`: the message is ignored, silently;
 * - `"close"`: the socket is closed with `closeCode` and a short reason.
 */
export type ThrottledMessageAction = "error" | "drop" | "close";

/** The slice of a socket a guard writes to: `ws`'s `WebSocket` and Hono's `WSContext` fit. */
export interface GuardedSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Options of {@link guardMessages}. */
export interface MessageGuardOptions<C, M> {
  /** The socket's connection, as the throttles' identifiers see it: the upgrade request by default. */
  connection: C;
  /** Where answers go. */
  socket: GuardedSocket;
  /** Applied to every message, all or nothing when several. */
  throttles: BaseThrottle<C> | readonly BaseThrottle<C>[];
  /**
   * Receives the admitted messages, in the order they arrived; when it returns a promise, the
   * next message waits for it.
   */
  onMessage: (message: M) => unknown;
  /** The action for a throttled message, or a choice per throttle. @default "error" */
  onThrottled?: ThrottledMessageAction | ((throttle: AnyThrottle) => ThrottledMessageAction);
  /**
   * The close code for `"close"`: 1008 (policy violation) for abuse, 1013 (try again later) for
   * a passing excess. @default 1008
   */
  closeCode?: 1008 | 1013;
  /** Receives what `onMessage` throws or rejects with, and backend errors `onError` raises. */
  onError?: (error: unknown) => void;
  /** Units a message costs. @default each throttle's own cost */
  cost?: (message: M) => number;
}

/** Feeds one socket's messages through its throttles. */
export interface MessageGuard<M> {
  /** Hands an incoming message to the guard; it reaches `onMessage` if admitted, in order. */
  push(message: M): void;
  /** Ends the guard when the socket closes: pending waits are abandoned, no timer remains. */
  close(): void;
  /** Resolves once every message pushed so far has been delivered or answered. */
  settled(): Promise<void>;
}

/** Longest close reason RFC 6455 allows: 125 bytes of payload minus the 2-byte code. */
const MAX_REASON_BYTES = 123;

/**
 * Throttles the messages of one socket. Each message is decided when it arrives (so a queueing
 * strategy counts it in the queue at once, and a message that finds the queue full is
 * throttled), then delivered in arrival order once its wait, if any, is over.
 *
 * @throws {ConfigurationError} for anything but throttles, or an unknown action.
 */
export function guardMessages<C, M>(options: MessageGuardOptions<C, M>): MessageGuard<M> {
  const throttles = Array.isArray(options.throttles)
    ? [...options.throttles]
    : [options.throttles as BaseThrottle<C>];
  if (throttles.length === 0 || !throttles.every((t) => t instanceof BaseThrottle)) {
    throw new ConfigurationError("guardMessages: throttles must be one or more throttles.");
  }
  const { connection, socket, onMessage } = options;
  const chooseAction = options.onThrottled ?? "error";
  if (typeof chooseAction === "string") checkAction(chooseAction);
  const closeCode = options.closeCode ?? 1008;
  if (closeCode !== 1008 && closeCode !== 1013) {
    throw new ConfigurationError(
      `guardMessages: closeCode must be 1008 or 1013, got ${closeCode}.`,
    );
  }
  const onError = options.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  const aborter = new AbortController();
  const signal = aborter.signal;
  const single = throttles.length === 1 ? (throttles[0] as BaseThrottle<C>) : undefined;
  let delivery: Promise<void> = Promise.resolve();
  let closed = false;

  const decide = (message: M): Promise<readonly Decision[]> => {
    const cost = options.cost?.(message);
    if (single !== undefined) {
      return single.tryHit(connection, { cost, signal }).then((decision) => [decision]);
    }
    if (cost !== undefined) {
      throw new ConfigurationError("guardMessages: a per-message cost needs a single throttle.");
    }
    return tryHitAll(throttles, connection, { signal });
  };

  const answer = (decisions: readonly Decision[]): void => {
    const index = decisions.findIndex((d) => !d.allowed);
    const throttle = throttles[index] as BaseThrottle<C>;
    const waitMs = Math.max(...decisions.map((d) => d.retryAfterMs));
    const action = typeof chooseAction === "function" ? chooseAction(throttle) : chooseAction;
    checkAction(action);
    const message = rateLimitMessage(throttle.uid, waitMs);
    if (action === "error") {
      socket.send(JSON.stringify(message));
    } else if (action === "close") {
      closed = true;
      aborter.abort();
      socket.close(closeCode, closeReason(message.retryAfter));
    }
  };

  return {
    push(message) {
      if (closed) return;
      let decided: Promise<readonly Decision[]>;
      try {
        decided = decide(message);
      } catch (error) {
        decided = Promise.reject(error);
      }
      // Handled below once earlier messages are delivered; mark it handled now so a failure
      // that comes first is not reported as unhandled.
      decided.catch(() => {});
      // Decided now, delivered after every earlier message.
      delivery = delivery
        .then(() => decided)
        .then(
          async (decisions) => {
            if (closed) return;
            if (decisions.every((d) => d.allowed)) await onMessage(message);
            else answer(decisions);
          },
          (error: unknown) => {
            if (!signal.aborted) throw error;
          },
        )
        .catch(onError);
    },
    close() {
      closed = true;
      aborter.abort();
    },
    settled() {
      return delivery;
    },
  };
}

function checkAction(action: string): void {
  if (action !== "error" && action !== "drop" && action !== "close") {
    throw new ConfigurationError(
      `guardMessages: onThrottled must be "error", "drop" or "close", got ${JSON.stringify(action)}.`,
    );
  }
}

function closeReason(retryAfter: number): string {
  const reason = `Rate limit exceeded. Retry in ${retryAfter} s.`;
  return Buffer.byteLength(reason) <= MAX_REASON_BYTES ? reason : "Rate limit exceeded.";
}
