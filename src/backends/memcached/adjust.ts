import { setTimeout as sleep } from "node:timers/promises";
import { BackendError } from "../../errors.js";
import type { Step } from "../../strategies/strategy.js";
import { adjusted } from "../adjusted.js";
import { decodeState, encodeState } from "../state-codec.js";
import type { DecisionRequest } from "../types.js";
import type { CasStore } from "./cas-round.js";

/**
 * A penalty or reward (`points`, see `Strategy.adjust`) by compare-and-swap, as decisions are
 * made: `gets`, adjust, `cas` (or `add` for a client with no item), again if another writer
 * came first. A key still contended after `casRetries` attempts is a `BackendError`: a penalty
 * is never dropped silently. @internal
 */
export async function adjustByCompareAndSwap(
  store: CasStore,
  request: DecisionRequest,
  points: number,
  casRetries: number,
): Promise<Step> {
  const cell = store.cell(request);
  for (let attempt = 0; attempt < casRetries; attempt++) {
    const read = await store.read(cell);
    const now = store.now();
    const { state, step } = adjusted(request, decodeState(read.raw), now, points);
    if (await store.write(cell, read, encodeState(state), (state[0] as number) - now)) return step;
    // Back off a little, at random, as decision rounds do, so contenders take turns.
    await sleep(Math.random() * Math.min(20, 2 ** attempt));
  }
  throw new BackendError(
    `Memcached: the key of "${request.uid}" stayed contended through ${casRetries} compare-and-swap attempts; nothing was adjusted.`,
  );
}
