/**
 * The wait of a request admitted with a queueing delay (leaky bucket with queue) until its turn
 * comes, and the one place that knows when such a request is abandoned before it starts.
 *
 * @module
 */
import type { Decision } from "./decision.js";

/**
 * Where a waiting request learns that its client went away: an `AbortSignal` given to `hit`, or
 * the response of a framework's request. @internal
 */
export interface Departure {
  /** Whether the client has gone already. */
  readonly gone: boolean;
  /** What the wait rejects with once the client has gone. */
  readonly reason: unknown;
  /** Calls `onGone` once, when the client goes; returns what stops watching. */
  watch(onGone: () => void): () => void;
}

/**
 * The departure an `AbortSignal` tells of: the wait rejects with the signal's reason. Given an
 * object with a `signal` (a Fetch `Request`), it reads the signal only when a request waits,
 * since some servers make a request's signal only when it is first read. @internal
 */
export class SignalDeparture implements Departure {
  constructor(private readonly source: AbortSignal | { readonly signal: AbortSignal }) {}

  private get signal(): AbortSignal {
    return this.source instanceof AbortSignal ? this.source : this.source.signal;
  }

  get gone(): boolean {
    return this.signal.aborted;
  }

  get reason(): unknown {
    return this.signal.reason;
  }

  watch(onGone: () => void): () => void {
    const signal = this.signal;
    signal.addEventListener("abort", onGone, { once: true });
    return () => signal.removeEventListener("abort", onGone);
  }
}

/** The departure `signal` tells of, if any. @internal */
export function signalDeparture(signal: AbortSignal | undefined): Departure | undefined {
  return signal === undefined ? undefined : new SignalDeparture(signal);
}

/**
 * `value` once `delayMs` have passed; rejects with the departure's reason as soon as the client
 * goes (or at once if it has gone), and then nothing of the wait remains and `giveBack` (see
 * `placesToGiveBack`) returns the request's place in its queue. @internal
 */
export function waitForTurn<T>(
  value: T,
  delayMs: number,
  departure: Departure | undefined,
  giveBack?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (departure === undefined) {
      setTimeout(resolve, delayMs, value);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let stopWatching: (() => void) | undefined;
    const gone = () => {
      abandon(timer, stopWatching, giveBack);
      reject(departure.reason);
    };
    if (departure.gone) {
      gone();
      return;
    }
    stopWatching = departure.watch(gone);
    timer = setTimeout(() => {
      stopWatching?.();
      resolve(value);
    }, delayMs);
  });
}

/** Whether `decision` waits for its turn: admitted with a queueing delay, and not in shadow. @internal */
export function waitsForTurn(decision: Decision): boolean {
  return decision.allowed && decision.delayMs > 0 && decision.shadow !== true;
}

/**
 * A request was admitted with a delay, and its client went away before its turn came: nothing
 * may run for it, nothing of its wait may remain, and its place in the queue goes back where
 * no later request queued behind it. This is the one place that knows it.
 */
function abandon(
  timer: NodeJS.Timeout | undefined,
  stopWatching: (() => void) | undefined,
  giveBack: (() => void) | undefined,
): void {
  clearTimeout(timer);
  stopWatching?.();
  giveBack?.();
}
