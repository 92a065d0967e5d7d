import { admitted, beyondCapacity, rejected } from "./common.js";

/**
 * PL/pgSQL mirror of `SlidingWindowLogStrategy.apply`: the state
 * `[expiresAt, used, t1, cost1, t2, cost2, ...]`, oldest entry first (1-based: entries start
 * at 3).
 */
export const SLIDING_WINDOW_LOG_SQL = `
live := s IS NOT NULL AND cardinality(s) >= 2 AND cardinality(s) % 2 = 0
  AND array_position(s, NULL) IS NULL AND s[1] > t;
len := CASE WHEN live THEN cardinality(s) ELSE 2 END;
used := CASE WHEN live THEN s[2] ELSE 0 END;
first_ := 3;
WHILE first_ <= len AND s[first_] + win <= t LOOP
  used := used - s[first_ + 1];
  first_ := first_ + 2;
END LOOP;
newest := CASE WHEN first_ <= len THEN s[len - 1] ELSE t - win END;
IF cost > lim THEN
  ${beyondCapacity("greatest(0, lim - used)")}
ELSIF used + cost > lim THEN
  freed := 0; retry := 0;
  FOR i IN first_..len BY 2 LOOP
    freed := freed + s[i + 1];
    IF freed >= used + cost - lim THEN retry := s[i] + win - t; EXIT; END IF;
  END LOOP;
  ${rejected("lim - used", "retry", "newest + win - t")}
ELSE
  nxt := ARRAY[0, 0]::bigint[];
  IF live THEN nxt := nxt || s[first_:len]; END IF;
  IF cost > 0 THEN
    -- Entries stay oldest first even if the clock steps back (see the TypeScript original).
    IF first_ <= len AND newest >= t THEN
      nxt[cardinality(nxt)] := nxt[cardinality(nxt)] + cost;
    ELSE
      nxt := nxt || ARRAY[t, cost];
    END IF;
  END IF;
  used := used + cost;
  nxt[1] := CASE WHEN cardinality(nxt) > 2 THEN nxt[cardinality(nxt) - 1] + win ELSE t END;
  nxt[2] := used;
  ${admitted("nxt", "lim - used", "nxt[1] - t")}
END IF;`;
