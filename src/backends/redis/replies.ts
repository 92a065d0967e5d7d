import type { Step } from "../../strategies/strategy.js";
import { decodeState } from "../state-codec.js";

/*
 * Steps from the decision script's replies, one shape for every strategy: six values per
 * request (see `lua/decide.ts`). These run for every decision, so they read the reply in place.
 */

/** A decision script's reply: numbers as integers, or as text where they are not whole. */
export type DecisionReply = readonly (number | string)[];

/**
 * The step of the request at `index` in `reply`: allowed, remaining, retry after, reset after,
 * delay, and the state's numbers as text where the script gives them (a request that may be
 * abandoned while it waits), else 0 and the step's state is empty.
 */
export function stepFrom(reply: DecisionReply, index: number): Step {
  const at = index * 6;
  const state = reply[at + 5];
  return {
    state: typeof state === "string" ? (decodeState(state) ?? EMPTY_STATE) : EMPTY_STATE,
    allowed: reply[at] === 1,
    remaining: numberOf(reply[at + 1]),
    retryAfterMs: numberOf(reply[at + 2]),
    resetAfterMs: numberOf(reply[at + 3]),
    delayMs: numberOf(reply[at + 4]),
  };
}

/** A number of the reply: an integer as is, else its text ("inf" is infinity). */
const numberOf = (value: number | string | undefined): number =>
  typeof value === "number" ? value : value === "inf" ? Number.POSITIVE_INFINITY : Number(value);

const EMPTY_STATE: readonly number[] = [];

/** The steps of a batch's reply, one per request. */
export function toSteps(reply: DecisionReply): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < reply.length / 6; i++) steps.push(stepFrom(reply, i));
  return steps;
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
