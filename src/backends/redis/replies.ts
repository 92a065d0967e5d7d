import type { Step } from "../../strategies/strategy.js";
import { decodeState } from "../state-codec.js";

/*
 * Steps from the decision script's replies, one shape for every strategy. These run for every
 * decision, so they read the reply in place rather than splitting it.
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

/** The steps of a batch's reply, one string per request. */
export const toSteps = (reply: readonly string[]): Step[] => reply.map(stepFrom);

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
