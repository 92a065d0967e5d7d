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
import { SocketClosing } from "../shared/socket-closing.js";
import { RATE_LIMIT_EVENT, rateLimitEvent } from "./rate-limit-event.js";
import type { SocketIoSocket } from "./socket-slice.js";

/**
 * What happens to a throttled event (it never reaches its handlers):
 * - `"error"`: when the client asked for an acknowledgement, it is called with a
 *   {@link RateLimitEvent}; otherwise the client is sent a `rate_limit` event carrying one;
 * - `"drop"`: nothing is answered (an acknowledgement the client awaits never comes);
 * - `"disconnect"`: answered as with `"error"`, then the client is disconnected
 *   (`socket.disconnect(true)`: Socket.IO's "io server disconnect", which a client does not
 *   reconnect from by itself).
 */
export type ThrottledEventAction = "error" | "drop" | "disconnect";

/** Options of {@link throttleEvents}. */
export interface ThrottleEventsOptions<C extends SocketIoSocket> {
  /** Applied to every event (or every event named in `events`), all or nothing when several. */
  throttles: BaseThrottle<C> | readonly BaseThrottle<C>[];
  /** Only events of these names are throttled; others pass untouched. @default every event */
  events?: readonly string[];
  /**
   * The most events held at once: those waiting for their turn (leaky bucket with queue), for
   * the backend's answer, or behind an earlier event still held. An event arriving when this
   * many are held is not counted against any throttle: it gets the `onThrottled` action at
   * once (of the first throttle, with a wait of 1 s). Held memory is at most this many
   * events of Socket.IO's `maxHttpBufferSize`. @default 64
   */
  maxPending?: number;
  /** The action for a throttled event, or a choice per throttle and event name. @default "error" */
  onThrottled?:
    | ThrottledEventAction
    | ((throttle: AnyThrottle, event: string) => ThrottledEventAction);
  /** Receives backend errors `onError` raises and what `cost` throws; that event is dropped. */
  onError?: (error: unknown) => void;
  /**
   * Units an event costs, from its name and arguments (without the acknowledgement callback);
   * only with a single throttle. @default each throttle's own cost
   */
  cost?: (event: string, args: readonly unknown[]) => number;
}

const OPTION_NAMES: OptionNames<ThrottleEventsOptions<SocketIoSocket>> = {
  throttles: true,
  events: true,
  maxPending: true,
  onThrottled: true,
  onError: true,
  cost: true,
};

/** Feeds one socket's events through its throttles. */
export interface EventGuard {
  /** Resolves once every event received so far has been delivered or answered. */
  settled(): Promise<void>;
  /** Events held now (being decided or waiting their turn); at most `maxPending`. */
  readonly pending: number;
}

/** One incoming event, as a Socket.IO socket middleware sees it. */
interface IncomingEvent {
  readonly name: string;
  readonly args: readonly unknown[];
  /** The callback Socket.IO put last when the client asked for an acknowledgement. */
  readonly ack: ((answer: unknown) => void) | undefined;
  /** Lets the event on to its handlers. */
  readonly deliver: () => void;
}

const DEFAULT_MAX_PENDING = 64;

/** The wait told to a client whose event found `maxPending` events held. */
const OVERFLOW_WAIT_MS = 1000;

/**
 * Throttles the events a Socket.IO client emits, as a socket middleware (`socket.use`): call
 * it in the `connection` handler, before or after the handlers are added. Each event is
 * decided when it arrives; an admitted one goes on to its handlers in arrival order (after
 * its wait, with a leaky bucket with queue); a throttled one never reaches them and is
 * answered as `onThrottled` says. When the socket disconnects, pending waits are abandoned.
 *
 * The throttles see the `Socket`: by default a client is its handshake's address; an
 * identifier can read `socket.data` (a user set by an auth middleware) or `socket.id`.
 * Listeners added with `socket.onAny` still see every event: Socket.IO calls them before any
 * socket middleware.
 *
 * @example
 * io.on("connection", (socket) => {
 *   throttleEvents(socket, { throttles: chatPerUser, events: ["chat"] });
 *   socket.on("chat", (text, ack) => ack?.("ok"));
 * });
 * @throws {ConfigurationError} for anything but throttles, an unknown action, a bad
 * `maxPending` or `events`, or a per-event cost with several throttles.
 */
export function throttleEvents<C extends SocketIoSocket>(
  socket: C,
  options: ThrottleEventsOptions<C>,
): EventGuard {
  rejectUnknownOptions("throttleEvents()", options, OPTION_NAMES);
  const throttles = Array.isArray(options.throttles)
    ? [...options.throttles]
    : [options.throttles as BaseThrottle<C>];
  if (throttles.length === 0 || !throttles.every((t) => t instanceof BaseThrottle)) {
    throw new ConfigurationError("throttleEvents: throttles must be one or more throttles.");
  }
  const chooseAction = options.onThrottled ?? "error";
  if (typeof chooseAction === "string") checkAction(chooseAction);
  else if (typeof chooseAction !== "function") checkAction(String(chooseAction));
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new ConfigurationError(
      `throttleEvents: maxPending must be a whole number of at least 1, got ${maxPending}.`,
    );
  }
  const names = eventNames(options.events);
  const cost = options.cost;
  if (cost !== undefined && throttles.length !== 1) {
    throw new ConfigurationError("throttleEvents: a per-event cost needs a single throttle.");
  }
  const onError = options.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  // One departure for the socket, however many events wait on it.
  const closing = new SocketClosing();
  // `deliver` hands the event to Socket.IO, which runs its handlers a tick later, in order.
  const held = new HeldMessages<IncomingEvent, Verdict<C>>((event) => event.deliver(), onError);

  const consume = { mode: "consume", departure: closing } as const;
  const decideEvent = (event: IncomingEvent): Eventually<Verdict<C>> =>
    decide(
      throttles,
      socket,
      cost === undefined ? consume : { ...consume, cost: cost(event.name, event.args) },
    );

  const refuse = (event: IncomingEvent, throttle: BaseThrottle<C>, waitMs: number): void => {
    const action =
      typeof chooseAction === "function" ? chooseAction(throttle, event.name) : chooseAction;
    checkAction(action);
    if (action === "drop") return;
    const answer = rateLimitEvent(throttle.uid, waitMs, event.name);
    if (event.ack !== undefined) event.ack(answer);
    else socket.emit(RATE_LIMIT_EVENT, answer);
    if (action === "disconnect") {
      stop();
      // Socket.IO runs the handlers of the events let through a tick after they pass, and
      // only while the socket is connected: disconnecting at once would lose those admitted
      // before this one.
      process.nextTick(() => socket.disconnect(true));
    }
  };

  const answer = (event: IncomingEvent, { rejection, rejectedBy }: Verdict<C>): void => {
    refuse(event, rejectedBy as BaseThrottle<C>, (rejection as Decision).retryAfterMs);
  };

  const stop = (): void => {
    closing.close();
    held.clear();
  };

  const parts: GuardParts<IncomingEvent, C> = {
    held,
    closing,
    maxPending,
    decide: decideEvent,
    overflow: (event) => refuse(event, throttles[0] as BaseThrottle<C>, OVERFLOW_WAIT_MS),
    answer,
    onError: (error) => {
      if (!(error instanceof ConnectionDenied)) {
        onError(error);
        return;
      }
      // A denied address is refused for good: the client is disconnected by the server (a
      // tick later, as for "disconnect", so that events admitted before still run).
      stop();
      process.nextTick(() => socket.disconnect(true));
    },
  };

  socket.use((packet, next) => {
    const name = packet[0];
    // Socket.IO's parser lets only string event names through; anything else passes as it came.
    if (typeof name !== "string" || (names !== undefined && !names.has(name))) {
      next();
      return;
    }
    const last = packet.at(-1);
    const ack = typeof last === "function" ? (last as (answer: unknown) => void) : undefined;
    const args = packet.slice(1, ack === undefined ? undefined : -1);
    admitInTurn({ name, args, ack, deliver: () => next() }, parts);
  });
  socket.once("disconnect", stop);

  return {
    settled: () => held.settled(),
    get pending() {
      return held.size;
    },
  };
}

function eventNames(events: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (events === undefined) return undefined;
  if (!Array.isArray(events) || events.length === 0 || events.some((e) => typeof e !== "string")) {
    throw new ConfigurationError("throttleEvents: events must be a non-empty list of event names.");
  }
  return new Set(events);
}

function checkAction(action: string): void {
  if (action !== "error" && action !== "drop" && action !== "disconnect") {
    throw new ConfigurationError(
      `throttleEvents: onThrottled must be "error", "drop" or "disconnect", got ${JSON.stringify(action)}.`,
    );
  }
}
