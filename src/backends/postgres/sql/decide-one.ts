import {
  ANSWER,
  decideWithMirror,
  LOCK_CLASS,
  MIRROR_VARIABLES,
  READ_COMMITTED_ONLY,
  REFUSE_LATE,
  SERVER_NOW,
  sweep,
} from "./strategies.js";

/**
 * The PL/pgSQL function deciding one request (the common case), named `name`, over `table`:
 * what the group function (`decide.ts`) does for a group of one, with scalar arguments (the
 * mirrors read them as they are, named as in `REQUEST_VARIABLES`: six assignments fewer, each
 * a step of the interpreter) and a text reply, so that neither side encodes or
 * parses arrays, and without staging.
 *
 * Returns "allowed,remaining,retry after,reset after,delay", followed by ",state" for an
 * admitted request that waits (giving its place back compares it); after a sweep, then "|"
 * and the last key it examined ("" at the range's end).
 */
export function decideOneFunction(table: string, name: string): string {
  return `CREATE OR REPLACE FUNCTION ${name}(
  k text, p_code text, cost bigint, lim bigint, win bigint, opt1 bigint, opt2 bigint,
  p_consume boolean, p_now bigint, p_deadline bigint,
  p_sweep_from text, p_sweep_to text, p_sweep_rows integer
) RETURNS text LANGUAGE plpgsql VOLATILE AS $traffik$
DECLARE
  ${MIRROR_VARIABLES}
  answer text;
  swept text;
BEGIN
  ${READ_COMMITTED_ONLY}
  IF p_consume THEN
    PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(k));
  END IF;
  t := ${SERVER_NOW};
  ${REFUSE_LATE}
  t := coalesce(p_now, t);
  SELECT state INTO s FROM ${table} WHERE key = k;
  ${decideWithMirror("p_code")}
  IF p_consume AND allowed THEN
    INSERT INTO ${table} (key, state, value, expires_at) VALUES (k, nxt, NULL, nxt[1])
    ON CONFLICT (key) DO UPDATE
      SET state = EXCLUDED.state, value = NULL, expires_at = EXCLUDED.expires_at;
  END IF;
  answer := ${ANSWER} || CASE WHEN allowed AND delay > 0 THEN ',' || array_to_string(nxt, ',') ELSE '' END;
  ${sweep(table)}
  RETURN CASE WHEN p_sweep_rows > 0 THEN answer || '|' || swept ELSE answer END;
END
$traffik$`;
}
