import {
  admitted,
  beyondCapacity,
  ceilDiv,
  floorDiv,
  isLive,
  rejected,
  unitsIn,
} from "./common.js";

/**
 * PL/pgSQL mirror of `scheduleStep` (`strategies/schedule.ts`), the one algorithm behind the
 * token bucket (with and without debt), the metering leaky bucket and GCRA: a bucket of
 * `size_` units, drawn at most `debt` below empty, as the schedule `[fullAtMs, ticks]`.
 * `size_` and `debt` are set from the strategy's options before it runs.
 */
export const SCHEDULE_SQL = `
missing := CASE WHEN ${isLive(2)} THEN greatest(0, (s[1] - t) * lim - s[2]) ELSE 0 END;
available := (size_ + debt) * win - missing;
IF cost > size_ + debt THEN
  ${beyondCapacity(`greatest(0, ${floorDiv("available", "win")})`)}
ELSIF cost * win > available THEN
  ${rejected(unitsIn("available", "win"), ceilDiv("cost * win - available", "lim"), ceilDiv("missing", "lim"))}
ELSE
  after_ := missing + cost * win;
  full_ := ${ceilDiv("after_", "lim")};
  ${admitted("ARRAY[t + full_, full_ * lim - after_]", floorDiv("available - cost * win", "win"), "full_")}
END IF;`;
