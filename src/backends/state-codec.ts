import type { StrategyState } from "../strategies/strategy.js";

/**
 * States travel through string-valued stores as numbers joined by commas. `String(number)` is
 * the shortest text that reads back to the same double, so the round trip is exact.
 */
export function encodeState(state: StrategyState): string {
  return state.join(",");
}

/** The numbers of an encoded state, or `undefined` for a missing or malformed one. */
export function decodeState(text: string | null | undefined): number[] | undefined {
  if (text === null || text === undefined || text === "") return undefined;
  const parts = text.split(",");
  const state = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const value = Number(parts[i]);
    // A tampered or foreign value counts as no state; the strategy starts the client afresh.
    if (!Number.isFinite(value) || parts[i] === "") return undefined;
    state[i] = value;
  }
  return state;
}

/** Whether two states hold the same numbers: a stored state is compared, not its encoding. */
export function sameState(a: StrategyState | undefined, b: StrategyState): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}
