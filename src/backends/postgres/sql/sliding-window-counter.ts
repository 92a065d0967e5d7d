import { admitted, beyondCapacity, floorDiv, isLive, rejected, unitsIn } from "./common.js";

/**
 * PL/pgSQL mirror of `SlidingWindowCounterStrategy.apply`: the state
 * `[expiresAt, windowStart, previousCount, currentCount]`.
 */
export const SLIDING_WINDOW_COUNTER_SQL = `
start_ := t; prev := 0; cur := 0;
IF ${isLive(4)} THEN
  start_ := s[2]; prev := s[3]; cur := s[4];
  -- A live state is younger than two windows, so at most one window has passed.
  IF t - start_ >= win THEN start_ := start_ + win; prev := cur; cur := 0; END IF;
END IF;
elapsed := greatest(0, t - start_);
estimate := prev * (win - elapsed) + cur * win;
IF cost > lim THEN
  ${beyondCapacity(unitsIn("lim * win - estimate", "win"))}
ELSIF estimate > (lim - cost) * win THEN
  ${rejected(
    unitsIn("lim * win - estimate", "win"),
    `CASE WHEN cur + cost <= lim THEN win - ${floorDiv("(lim - cur - cost) * win", "prev")} - elapsed
      ELSE 2 * win - elapsed - ${floorDiv("(lim - cost) * win", "cur")} END`,
    "CASE WHEN cur > 0 THEN start_ + 2 * win ELSE start_ + win END - t",
  )}
ELSE
  cur := cur + cost;
  ${admitted(
    "ARRAY[start_ + 2 * win, start_, prev, cur]",
    floorDiv("(lim - cost) * win - estimate", "win"),
    "CASE WHEN cur > 0 THEN start_ + 2 * win WHEN prev > 0 THEN start_ + win ELSE t END - t",
  )}
END IF;`;
