import { FIXED_WINDOW_SQL } from "./fixed-window.js";
import { LEAKY_BUCKET_WITH_QUEUE_SQL } from "./leaky-bucket-with-queue.js";
import { SCHEDULE_SQL } from "./schedule.js";
import { SLIDING_WINDOW_COUNTER_SQL } from "./sliding-window-counter.js";
import { SLIDING_WINDOW_LOG_SQL } from "./sliding-window-log.js";

/** The SQLSTATE a decision raises when it ran after its deadline; it wrote nothing. */
export const LATE_SQLSTATE = "TK001";
/** The SQLSTATE a decision raises in a transaction that is not READ COMMITTED. */
export const ISOLATION_SQLSTATE = "TK002";

/**
 * The first key of the two-key advisory locks decisions take ("TRAF"); the second is the
 * hash of the state's key. Two-key locks never conflict with an app's one-key locks.
 */
export const LOCK_CLASS = 0x54524146;

/** The server's clock in whole ms, as a SQL expression. */
export const SERVER_NOW = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/**
 * The request as the mirrors read it, declared: the table key, the cost, the rate's limit and
 * window, and the strategy's two options (NULL for a default). The lone function takes them
 * as its parameters, with these names.
 */
export const REQUEST_VARIABLES =
  "k text; cost bigint; lim bigint; win bigint; opt1 bigint; opt2 bigint;";

/** The variables the mirrors read (`t`, `s`) and set (the step, and steps of their own), declared. */
export const MIRROR_VARIABLES = `t bigint; s bigint[];
  allowed boolean; nxt bigint[]; remaining bigint; retry bigint; reset_ bigint; delay bigint;
  live boolean; count_ bigint; window_end bigint;
  size_ bigint; debt bigint; missing bigint; available bigint; after_ bigint; full_ bigint;
  queue bigint; wait bigint; free bigint; overflow bigint; backlog bigint;
  start_ bigint; prev bigint; cur bigint; elapsed bigint; estimate bigint;
  len integer; first_ integer; used bigint; newest bigint; freed bigint;`;

/** PL/pgSQL statements refusing any isolation level but READ COMMITTED (see `decide.ts`). */
export const READ_COMMITTED_ONLY = `IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'Traffik decides in READ COMMITTED transactions only, not %',
      current_setting('transaction_isolation') USING ERRCODE = '${ISOLATION_SQLSTATE}';
  END IF;`;

/** PL/pgSQL statements raising {@link LATE_SQLSTATE} when a consuming call runs past its deadline. */
export const REFUSE_LATE = `IF p_consume AND p_deadline IS NOT NULL AND t > p_deadline THEN
    RAISE EXCEPTION 'the deadline had passed when the server ran this call; nothing was written'
      USING ERRCODE = '${LATE_SQLSTATE}';
  END IF;`;

/**
 * PL/pgSQL statements deciding one request with the mirror named by `code` (an expression):
 * they read `s` (the stored state, or NULL), `t` and the request's variables, and set the step.
 */
export function decideWithMirror(code: string): string {
  return `CASE ${code}
      WHEN 'fw' THEN ${FIXED_WINDOW_SQL}
      WHEN 'swl' THEN ${SLIDING_WINDOW_LOG_SQL}
      WHEN 'swc' THEN ${SLIDING_WINDOW_COUNTER_SQL}
      WHEN 'lbq' THEN ${LEAKY_BUCKET_WITH_QUEUE_SQL}
      ELSE
        -- The token bucket (tb), with debt (tbd), the metering leaky bucket (lb) and GCRA
        -- (gcra) are one schedule; their options say its size and debt.
        size_ := coalesce(opt1, lim);
        debt := CASE ${code} WHEN 'tbd' THEN coalesce(opt2, lim) WHEN 'tb' THEN 0
          WHEN 'lb' THEN 0 WHEN 'gcra' THEN 0 END;
        IF debt IS NULL THEN
          RAISE EXCEPTION 'unknown strategy code %', ${code};
        END IF;
        ${SCHEDULE_SQL}
    END CASE;`;
}

/** The step just decided, as its answer's text: "allowed,remaining,retry,reset,delay". */
export const ANSWER = `concat_ws(',', allowed::integer, remaining, coalesce(retry::text, 'inf'), reset_, delay)`;

/**
 * PL/pgSQL statements sweeping: when `p_sweep_rows > 0`, deleting the expired rows among the
 * next `p_sweep_rows` keys of `table` after `p_sweep_from` and before `p_sweep_to` (the
 * namespace's range), and setting `swept` to the last key examined, or "" at the range's end.
 */
export function sweep(table: string): string {
  return `IF p_sweep_rows > 0 THEN
    WITH scanned AS (
      SELECT key, expires_at FROM ${table}
      WHERE key > p_sweep_from AND key < p_sweep_to ORDER BY key LIMIT p_sweep_rows
    ), doomed AS (
      -- Rows another call holds are skipped, never waited for: two sweeps in processes that
      -- each hold a lock the other wants would deadlock. The expiry is checked again on the
      -- row as it is now: a decision may have renewed it meanwhile.
      SELECT d.key FROM ${table} AS d JOIN scanned ON d.key = scanned.key
      WHERE scanned.expires_at <= t AND d.expires_at <= t
      FOR UPDATE OF d SKIP LOCKED
    ), gone AS (
      DELETE FROM ${table} AS d USING doomed WHERE d.key = doomed.key AND d.expires_at <= t
    )
    SELECT CASE WHEN count(*) < p_sweep_rows THEN '' ELSE max(key) END INTO swept FROM scanned;
  END IF;`;
}
