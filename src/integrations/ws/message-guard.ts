import { ConfigurationError, ConnectionDenied } from "../../errors.js";
import { type OptionNames, rejectUnknownOptions } from "../../internal/known-keys.js";
import { BaseThrottle } from "../../throttles/base.js";
import { decide } from "../../throttles/decide.js";
import type { Decision } from "../../throttles/decision.js";
import type { AnyThrottle } from "../../throttles/options.js";
import type { Eventually } from "../../throttles/sync-or-async.js";
import type { Verdict } from "../../throttles/verdict.js";
import { admitInTurn, type GuardParts } from "../shared/admit-in-turn.js";
import { HeldMessages } from "../shared/held-messages.js";
import { type RateLimitDecision, RecordedDecisions } from "../shared/rate-limit-decision.js";
import { rateLimitMessage } from "../shared/rate-limit-message.js";
import { SocketClosing } from "../shared/socket-closing.js";
import {
  messageBody,
  prepareMessage,
  type ThrottledMessage,
  type ThrottledResponse,
} from "../shared/throttled-response.js";

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
  /** Sends a text message (a throttled message's `rate_limit` answer). */
  send(data: string): void;
  /** Closes the socket with a code and a reason. */
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
   * Receives the admitted messages, in the order they arrived, each with its
   * {@link RateLimitDecision} (built only for a function that declares the parameter); when it
   * returns a promise, the next message waits for it.
   */
  onMessage: (message: M, decision: RateLimitDecision) => unknown;
  /**
   * The most admitted messages held for `onMessage` at once: those waiting for their turn
   * (leaky bucket with queue), for the backend's answer, or for `onMessage` to finish with
   * earlier ones. A message arriving when this many are held is not counted against any
   * throttle: it gets the `onThrottled` action at once (of the first throttle, with a wait of
   * 1 s). Held memory is at most this many messages of ws's `maxPayload`. @default 64
   */
  maxPending?: number;
  /** The action for a throttled message, or a choice per throttle. @default "error" */
  onThrottled?: ThrottledMessageAction | ((throttle: AnyThrottle) => ThrottledMessageAction);
  /**
   * The close code for `"close"`: 1008 (policy violation) for abuse, 1013 (try again later) for
   * a passing excess. @default 1008
   */
  closeCode?: 1008 | 1013;
  /** Receives what `onMessage` throws or rejects with, and backend errors `onError` raises. */
  onError?: (error: unknown) => void;
  /** Units a message costs; only with a single throttle. @default each throttle's own cost */
  cost?: (message: M) => number;
  /**
   * What the client of a throttled message is told instead of the `rate_limit` JSON: the reply
   * with `"error"`, the close reason with `"close"` (when it fits the 123 bytes a reason may
   * take; else the default reason). A string, a JSON-able object, or a function of the
   * connection and the message's {@link RateLimitDecision} making either (what it throws goes
   * to `onError`, and the default answer is sent). A message refused for `maxPending` gets the
   * default answer: no throttle decided it.
   */
  message?: ThrottledMessage<C>;
}

const GUARD_OPTION_NAMES: OptionNames<MessageGuardOptions<unknown, unknown>> = {
  connection: true,
  socket: true,
  throttles: true,
  onMessage: true,
  maxPending: true,
  onThrottled: true,
  closeCode: true,
  onError: true,
  cost: true,
  message: true,
};

/** Feeds one socket's messages through its throttles. */
export interface MessageGuard<M> {
  /** Hands an incoming message to the guard; it reaches `onMessage` if admitted, in order. */
  push(message: M): void;
  /** Ends the guard when the socket closes: pending waits are abandoned, no timer remains. */
  close(): void;
  /** Resolves once every message pushed so far has been delivered or answered. */
  settled(): Promise<void>;
  /** Admitted (or undecided) messages held now, not yet taken by `onMessage`; at most `maxPending`. */
  readonly pending: number;
}

/** What a handler that declares no decision parameter is passed: nothing it will read. */
const NOT_READ = undefined as unknown as RateLimitDecision;

/** Longest close reason RFC 6455 allows: 125 bytes of payload minus the 2-byte code. */
const MAX_REASON_BYTES = 123;

const DEFAULT_MAX_PENDING = 64;

/** The wait told to a client whose message found `maxPending` messages held. */
const OVERFLOW_WAIT_MS = 1000;

/**
 * Throttles the messages of one socket. Each message is decided when it arrives (so a queueing
 * strategy counts it in the queue at once, and a message that finds the queue full is
 * throttled). A throttled message is answered at once and not kept; an admitted one is held
 * until its wait, if any, is over and every earlier admitted message has been delivered, at
 * most `maxPending` of them. A throttled message's answer can thus reach the client before the
 * replies to earlier messages still held.
 *
 * @throws {ConfigurationError} for anything but throttles, an unknown action, a bad
 * `maxPending`, or a per-message cost with several throttles.
 */
export function guardMessages<C, M>(options: MessageGuardOptions<C, M>): MessageGuard<M> {
  rejectUnknownOptions("guardMessages()", options, GUARD_OPTION_NAMES);
  const throttles = Array.isArray(options.throttles)
    ? [...options.throttles]
    : [options.throttles as BaseThrottle<C>];
  if (throttles.length === 0 || !throttles.every((t) => t instanceof BaseThrottle)) {
    throw new ConfigurationError("guardMessages: throttles must be one or more throttles.");
  }
  const { connection, socket, onMessage, cost } = options;
  const chooseAction = options.onThrottled ?? "error";
  if (typeof chooseAction === "string") checkAction(chooseAction);
  const closeCode = options.closeCode ?? 1008;
  if (closeCode !== 1008 && closeCode !== 1013) {
    throw new ConfigurationError(
      `guardMessages: closeCode must be 1008 or 1013, got ${closeCode}.`,
    );
  }
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new ConfigurationError(
      `guardMessages: maxPending must be a whole number of at least 1, got ${maxPending}.`,
    );
  }
  if (cost !== undefined && throttles.length !== 1) {
    throw new ConfigurationError("guardMessages: a per-message cost needs a single throttle.");
  }
  const onError = options.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  const custom = prepareMessage(options.message, "guardMessages");
  // One departure for the socket, however many messages wait on it.
  const closing = new SocketClosing();
  // A decision is built for each message only when onMessage takes one.
  const deliver =
    onMessage.length < 2
      ? (message: M) => onMessage(message, NOT_READ)
      : (message: M, verdict: Verdict<C>) =>
          onMessage(message, new RecordedDecisions(verdict.decisions as Decision[], throttles));
  const held = new HeldMessages<M, Verdict<C>>(deliver, onError);

  const consume = { mode: "consume", departure: closing } as const;
  const decideMessage = (message: M): Eventually<Verdict<C>> =>
    decide(
      throttles,
      connection,
      cost === undefined ? consume : { ...consume, cost: cost(message) },
    );

  const refuse = (throttle: BaseThrottle<C>, waitMs: number, verdict?: Verdict<C>): void => {
    const action = typeof chooseAction === "function" ? chooseAction(throttle) : chooseAction;
    checkAction(action);
    if (action === "drop") return;
    // Closing stops the guard at once: nothing after this message is delivered.
    if (action === "close") stop();
    const fallback = rateLimitMessage(throttle.uid, waitMs);
    const tell = (body: Pick<ThrottledResponse, "text"> | undefined): void => {
      if (action === "close") {
        socket.close(closeCode, closeReason(body?.text, fallback.retryAfter));
      } else if (!closing.gone) {
        socket.send(body?.text ?? JSON.stringify(fallback));
      }
    };
    if (custom === undefined || verdict === undefined) {
      tell(undefined);
      return;
    }
    const failed = (error: unknown): void => {
      onError(error);
      tell(undefined);
    };
    const decision = new RecordedDecisions(verdict.decisions as Decision[], throttles);
    try {
      const body = messageBody(custom, connection, decision);
      if (body instanceof Promise) body.then(tell, failed);
      else tell(body);
    } catch (error) {
      failed(error);
    }
  };

  const answer = (verdict: Verdict<C>): void => {
    const { rejection, rejectedBy } = verdict;
    refuse(rejectedBy as BaseThrottle<C>, (rejection as Decision).retryAfterMs, verdict);
  };

  const stop = (): void => {
    closing.close();
    held.clear();
  };

  const parts: GuardParts<M, C> = {
    held,
    closing,
    maxPending,
    decide: decideMessage,
    overflow: () => refuse(throttles[0] as BaseThrottle<C>, OVERFLOW_WAIT_MS),
    answer: (_message, verdict) => answer(verdict),
    onError: (error) => {
      if (!(error instanceof ConnectionDenied)) {
        onError(error);
        return;
      }
      // A denied address is refused for good: the socket is closed as a policy violation.
      stop();
      socket.close(1008, "Forbidden");
    },
  };

  return {
    push(message) {
      admitInTurn(message, parts);
    },
    close: stop,
    settled() {
      return held.settled();
    },
    get pending() {
      return held.size;
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

/** The app's text when it fits a close frame, else the default reason. */
function closeReason(text: string | undefined, retryAfter: number): string {
  if (text !== undefined && Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  const reason = `Rate limit exceeded. Retry in ${retryAfter} s.`;
  return Buffer.byteLength(reason) <= MAX_REASON_BYTES ? reason : "Rate limit exceeded.";
}
