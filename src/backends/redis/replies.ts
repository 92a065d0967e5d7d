import type { Rate } from "../../rate.js";
import { FixedWindowStrategy } from "../../strategies/fixed-window.js";
import type { Step } from "../../strategies/strategy.js";
import { decodeState } from "../state-codec.js";

/*
 * Steps from the scripts' replies. These run for every decision, so they read the reply in
 * place rather than splitting it.
 */

/**
 * A step from one reply string, "allowed,remaining,retry after,reset after,delay", and then the
 * state's numbers where the script gives them (a request that may be abandoned while it waits);
 * otherwise the step's state is empty.
 */
export function stepFrom(reply: string): Step {
  const a = reply.indexOf(",", 2);
  const b = reply.indexOf(",", a + 1);
  const c = reply.indexOf(",", b + 1);
  const d = reply.indexOf(",", c + 1);
  const retry = reply.slice(a + 1, b);
  return {
    state: d === -1 ? EMPTY_STATE : (decodeState(reply.slice(d + 1)) ?? EMPTY_STATE),
    allowed: reply.charCodeAt(0) === 49, // "1"
    remaining: Number(reply.slice(2, a)),
    retryAfterMs: retry === "inf" ? Number.POSITIVE_INFINITY : Number(retry),
    resetAfterMs: Number(reply.slice(b + 1, c)),
    delayMs: Number(d === -1 ? reply.slice(c + 1) : reply.slice(c + 1, d)),
  };
}

const EMPTY_STATE: readonly number[] = [];

export const toSteps = (reply: readonly string[]): Step[] => reply.map(stepFrom);

const fixedWindow = new FixedWindowStrategy();

/**
 * The step of a lone fixed-window request from the script's reply: the count before the
 * request and the ms until the window ends, packed in one integer as
 * `prior * (windowMs + 1) + reset`, or as text "prior,reset". The TypeScript strategy decides
 * from those, on a clock that starts at the decision, exactly as the script did.
 */
export function fixedWindowStep(reply: number | string, cost: number, rate: Rate): Step {
  let prior: number;
  let reset: number;
  if (typeof reply === "number") {
    // Exact: both are whole numbers and the reply is below 2^53.
    reset = reply % (rate.windowMs + 1);
    prior = (reply - reset) / (rate.windowMs + 1);
  } else {
    const comma = reply.indexOf(",");
    prior = wholeNumber(reply, 0, comma);
    reset = Number(reply.slice(comma + 1));
  }
  // An empty window is no state: a cost beyond the limit then waits for nothing.
  const state = prior > 0 || cost <= rate.limit ? [reset, prior] : undefined;
  return fixedWindow.apply(state, 0, cost, rate);
}

/**
 * The whole number written in `text` from `start` to `end`, read in place: this runs for every
 * decision, and slicing first allocates. Anything but digits is left to `Number`.
 */
function wholeNumber(text: string, start: number, end = text.length): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text.slice(start, end));
    value = value * 10 + digit;
  }
  return value;
}

/** The step of a request the block cache rejects: nothing left until `waitMs` have passed. */
export function blockedStep(waitMs: number): Step {
  return {
    state: [],
    allowed: false,
    remaining: 0,
    retryAfterMs: waitMs,
    resetAfterMs: waitMs,
    delayMs: 0,
  };
}
