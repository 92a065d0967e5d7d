import { admitted, beyondCapacity, floorDiv, isLive, rejected } from "./common.js";

/**
 * PL/pgSQL mirror of `FixedWindowStrategy.apply`: the state `[windowEnd, count]`, windows
 * aligned to the epoch. Statements in the decision function's scope (see `common.ts`).
 */
export const FIXED_WINDOW_SQL = `
live := ${isLive(2)};
count_ := CASE WHEN live THEN s[2] ELSE 0 END;
IF cost > lim THEN
  ${beyondCapacity("greatest(0, lim - count_)")}
ELSE
  window_end := CASE WHEN live THEN s[1] ELSE (${floorDiv("t", "win")} + 1) * win END;
  IF count_ + cost > lim THEN
    ${rejected("lim - count_", "window_end - t", "window_end - t")}
  ELSE
    ${admitted("ARRAY[window_end, count_ + cost]", "lim - count_ - cost", "window_end - t")}
  END IF;
END IF;`;
