import {
  ANSWER,
  decideWithMirror,
  LOCK_CLASS,
  MIRROR_VARIABLES,
  READ_COMMITTED_ONLY,
  REFUSE_LATE,
  REQUEST_VARIABLES,
  SERVER_NOW,
  sweep,
} from "./strategies.js";

/**
 * The PL/pgSQL decision function over `table` (a quoted, qualified name), named `name`. One
 * call decides a whole group: requests `1..n` in the arrays (key, strategy code, cost, limit,
 * window, two options, NULL for a default), each seeing the states the ones before it staged;
 * it stores the staged states only when consuming and every request was admitted.
 *
 * Consuming, it first takes a transaction-level advisory lock per key, in one global order
 * (so two groups cannot deadlock), and only then reads the clock and the states: decisions on
 * a key are serialized across every process, and each sees the last one's state (READ
 * COMMITTED takes a snapshot per statement; other isolation levels are refused, as a snapshot
 * taken before the lock would miss the last write). A peek takes no lock and writes nothing.
 *
 * `p_now` is a test clock's time, or NULL for the server's (`clock_timestamp()`). A consuming
 * call past `p_deadline` (on the server's clock) writes nothing and raises {@link LATE_SQLSTATE}:
 * its caller gave up on it and `onError` answered. When `p_sweep_rows > 0`, it then deletes
 * the expired rows among the next `p_sweep_rows` keys after `p_sweep_from` and before
 * `p_sweep_to` (the namespace's range): a bounded sweep, no timer per key.
 *
 * Returns one text per request, "allowed,remaining,retry after,reset after,delay" (allowed 1
 * or 0; a retry after of "inf" means never), followed by ",state" for an admitted request that
 * waits or belongs to a group of several (giving its place back compares it); and, after a
 * sweep, one more: the last key it examined, or "" when it reached the range's end.
 */
export function decideFunction(table: string, name: string): string {
  return `CREATE OR REPLACE FUNCTION ${name}(
  p_keys text[], p_codes text[], p_costs bigint[], p_limits bigint[], p_windows bigint[],
  p_first bigint[], p_second bigint[], p_consume boolean, p_now bigint, p_deadline bigint,
  p_sweep_from text, p_sweep_to text, p_sweep_rows integer
) RETURNS text[] LANGUAGE plpgsql VOLATILE AS $traffik$
DECLARE
  n integer := cardinality(p_keys);
  ${REQUEST_VARIABLES}
  ${MIRROR_VARIABLES}
  pos integer; h integer;
  staged_keys text[] := '{}'; staged_states text[] := '{}';
  all_admitted boolean := true;
  answers text[] := '{}';
  swept text;
BEGIN
  ${READ_COMMITTED_ONLY}
  IF p_consume AND n = 1 THEN
    -- The common case, a lone request, without the query that orders a group's locks.
    PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(p_keys[1]));
  ELSIF p_consume THEN
    FOR h IN SELECT DISTINCT hashtext(x) FROM unnest(p_keys) AS x ORDER BY 1 LOOP
      PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, h);
    END LOOP;
  END IF;
  t := ${SERVER_NOW};
  ${REFUSE_LATE}
  t := coalesce(p_now, t);
  FOR j IN 1..coalesce(n, 0) LOOP
    k := p_keys[j]; cost := p_costs[j]; lim := p_limits[j]; win := p_windows[j];
    opt1 := p_first[j]; opt2 := p_second[j];
    pos := array_position(staged_keys, k);
    IF pos IS NOT NULL THEN
      s := staged_states[pos]::bigint[];
    ELSE
      SELECT state INTO s FROM ${table} WHERE key = k;
    END IF;
    ${decideWithMirror("p_codes[j]")}
    IF allowed AND n = 1 THEN
      -- A lone request stores \`nxt\` itself, below; nothing to stage.
      NULL;
    ELSIF allowed THEN
      IF pos IS NULL THEN
        staged_keys := staged_keys || k;
        staged_states := staged_states || nxt::text;
      ELSE
        staged_states[pos] := nxt::text;
      END IF;
    ELSE
      all_admitted := false;
    END IF;
    answers := answers || (${ANSWER}
      || CASE WHEN allowed AND (delay > 0 OR n > 1) THEN ',' || array_to_string(nxt, ',') ELSE '' END);
  END LOOP;
  IF p_consume AND all_admitted AND n = 1 THEN
    INSERT INTO ${table} (key, state, value, expires_at) VALUES (k, nxt, NULL, nxt[1])
    ON CONFLICT (key) DO UPDATE
      SET state = EXCLUDED.state, value = NULL, expires_at = EXCLUDED.expires_at;
  ELSIF p_consume AND all_admitted AND n > 1 THEN
    INSERT INTO ${table} AS row_ (key, state, value, expires_at)
      SELECT x.k, x.s::bigint[], NULL, (x.s::bigint[])[1]
      FROM unnest(staged_keys, staged_states) AS x(k, s)
    ON CONFLICT (key) DO UPDATE
      SET state = EXCLUDED.state, value = NULL, expires_at = EXCLUDED.expires_at;
  END IF;
  ${sweep(table)}
  IF p_sweep_rows > 0 THEN
    answers := answers || swept;
  END IF;
  RETURN answers;
END
$traffik$`;
}
