import { setTimeout as sleep } from "node:timers/promises";
import { BackendError } from "../../errors.js";
import type { Step } from "../../strategies/strategy.js";
import { adjusted } from "../adjusted.js";
import { decodeState, encodeState } from "../state-codec.js";
import type { DecisionRequest } from "../types.js";
import { COMPARE_AND_SET_LUA, READ_STATE_LUA } from "./lua/adjust.js";
import { type Script, script } from "./script.js";

const READ_STATE = script(READ_STATE_LUA);
const COMPARE_AND_SET = script(COMPARE_AND_SET_LUA);

/** Attempts before a key written by decisions all the while is given up on. */
const ATTEMPTS = 24;

/** Runs a script on the client's key with the given arguments. */
export type KeyScript = (script: Script, args: readonly string[]) => Promise<unknown>;

/**
 * A penalty or reward (`points`, see `Strategy.adjust`) on a mirrored strategy's state, with no
 * Lua per strategy: read the value and the deciding clock in one script, adjust in TypeScript,
 * and compare-and-set in another, starting again if a decision wrote in between. Decisions on
 * these keys are scripts that take no lock, so a lock would not exclude them; the comparison
 * does. A key still contended after every attempt is a `BackendError`: a penalty is never
 * dropped silently. @internal
 */
export async function adjustByCompareAndSet(
  run: KeyScript,
  clock: string,
  request: DecisionRequest,
  points: number,
): Promise<Step> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const [raw, at] = (await run(READ_STATE, [clock])) as [string, string | number];
    const now = Number(at);
    const { state, step } = adjusted(request, decodeState(raw), now, points);
    const expiresAt = state[0] as number;
    const value = expiresAt > now ? encodeState(state) : "";
    // As the decision scripts keep a key: a lifetime that only cleans up, erring long.
    const keepMs = String(Math.max(1000, Math.ceil(expiresAt - now)));
    if (Number(await run(COMPARE_AND_SET, [raw, value, keepMs])) === 1) return step;
    await sleep(Math.random() * Math.min(20, 2 ** attempt));
  }
  throw new BackendError(
    `Redis: the key of "${request.uid}" kept changing through ${ATTEMPTS} attempts; nothing was adjusted.`,
  );
}
