import { admitted, beyondCapacity, ceilDiv, floorDiv, isLive, rejected } from "./common.js";

/**
 * PL/pgSQL mirror of `LeakyBucketWithQueueStrategy.apply`: the state `[nextStartMs, ticks]`;
 * `opt1` is the queue's size (NULL: the limit).
 */
export const LEAKY_BUCKET_WITH_QUEUE_SQL = `
queue := coalesce(opt1, lim) * win;
wait := CASE WHEN ${isLive(2)} THEN greatest(0, (s[1] - t) * lim - s[2]) ELSE 0 END;
free := greatest(0, ${floorDiv("queue - wait", "win")} + 1);
overflow := wait + (cost - 1) * win - queue;
IF cost > coalesce(opt1, lim) + 1 THEN
  ${beyondCapacity("free")}
ELSIF overflow > 0 THEN
  ${rejected("free", ceilDiv("overflow", "lim"), ceilDiv("wait", "lim"))}
ELSE
  backlog := wait + cost * win;
  full_ := ${ceilDiv("backlog", "lim")};
  ${admitted(
    "ARRAY[t + full_, full_ * lim - backlog]",
    `${floorDiv("queue - backlog", "win")} + 1`,
    "full_",
    `CASE WHEN cost > 0 THEN ${ceilDiv("wait", "lim")} ELSE 0 END`,
  )}
END IF;`;
