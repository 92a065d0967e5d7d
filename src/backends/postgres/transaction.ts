import { BackendError } from "../../errors.js";
import type { Step, StrategyState } from "../../strategies/strategy.js";
import { decodeState, encodeState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest } from "../types.js";
import { mirrorOf } from "./mirrors.js";
import type { PostgresClient } from "./pool.js";
import { LOCK_CLASS, SERVER_NOW } from "./sql/strategies.js";

/** What deciding in a transaction needs from the backend. */
export interface TransactionSite {
  /** A pooled connection, the caller's turn; released here. */
  readonly client: PostgresClient;
  /** The quoted, qualified table. */
  readonly table: string;
  /** A test clock's time, or `null` for the server's clock. */
  readonly now: number | null;
  /** `performance.now()` past which nothing may be written: the caller has given up. */
  readonly deadline: number;
  readonly timeoutMs: number;
}

/**
 * Decides a group holding a strategy without a PL/pgSQL mirror (a custom one, or a subclass
 * of a built-in one), by the strategies' own `apply`, in one READ COMMITTED transaction on one
 * pooled connection: it takes the same advisory locks as the decision function, in the same
 * order, so custom and built-in decisions on a key exclude each other; reads the states and
 * the server's clock only then; decides; writes only if all are admitted. A crashed process's
 * locks go with its connection, and nothing is written past the caller's deadline.
 *
 * This path costs five round trips (BEGIN, locks, read, write, COMMIT) where the function
 * costs one; it is the price of running code the server does not have.
 */
export async function decideInTransaction(
  site: TransactionSite,
  keys: readonly string[],
  requests: readonly DecisionRequest[],
  mode: DecisionMode,
): Promise<Step[]> {
  const { client } = site;
  let broken: Error | undefined;
  try {
    await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
    const distinct = [...new Set(keys)];
    if (mode === "consume") {
      await client.query({
        text: `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, h)
               FROM (SELECT DISTINCT hashtext(x) AS h FROM unnest($1::text[]) AS x ORDER BY 1) AS l`,
        values: [distinct],
      });
    }
    const { now, states } = await readStates(client, site, distinct);
    const steps: Step[] = [];
    let all = true;
    for (const [i, request] of requests.entries()) {
      const key = keys[i] as string;
      const step = request.strategy.apply(states.get(key), now, request.cost, request.rate);
      if (step.allowed) states.set(key, step.state);
      else all = false;
      steps.push(step);
    }
    if (mode === "consume" && all) {
      if (performance.now() > site.deadline) {
        throw new BackendError(`PostgreSQL did not decide within ${site.timeoutMs} ms.`, {
          code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
        });
      }
      await writeStates(client, site.table, keys, requests, states);
    }
    await client.query("COMMIT");
    return steps;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollback: unknown) => {
      broken = rollback instanceof Error ? rollback : new Error(String(rollback));
    });
    throw error;
  } finally {
    // A connection that could not roll back is discarded, not handed to the next caller.
    client.release(broken ?? false);
  }
}

/**
 * The deciding time and each key's state: a built-in's `state`, or a custom one's `value`.
 * @internal
 */
export async function readStates(
  client: PostgresClient,
  site: TransactionSite,
  keys: readonly string[],
): Promise<{ now: number; states: Map<string, StrategyState | undefined> }> {
  const { rows } = await client.query({
    text: `SELECT coalesce($2::bigint, ${SERVER_NOW}) AS now, k.key, t.state, t.value
           FROM unnest($1::text[]) AS k(key) LEFT JOIN ${site.table} AS t ON t.key = k.key`,
    values: [keys, site.now],
  });
  const states = new Map<string, StrategyState | undefined>();
  let now = 0;
  for (const row of rows as {
    now: string;
    key: string;
    state: string[] | null;
    value: string | null;
  }[]) {
    now = Number(row.now);
    states.set(row.key, row.state !== null ? row.state.map(Number) : decodeState(row.value));
  }
  return { now, states };
}

/**
 * Stores the admitted states, each where its own path reads it: a built-in strategy's in
 * `state`, so the decision function finds it, a custom one's encoded in `value`. @internal
 */
export async function writeStates(
  client: PostgresClient,
  table: string,
  keys: readonly string[],
  requests: readonly DecisionRequest[],
  states: Map<string, StrategyState | undefined>,
): Promise<void> {
  const rows = new Map<string, [state: string | null, value: string | null, expiresAt: number]>();
  for (const [i, request] of requests.entries()) {
    const key = keys[i] as string;
    const state = states.get(key);
    if (state === undefined || state.length === 0) continue;
    const mirrored = mirrorOf(request.strategy) !== undefined;
    const expiresAt = Math.ceil(state[0] as number);
    rows.set(key, [
      mirrored ? `{${state.join(",")}}` : null,
      mirrored ? null : encodeState(state),
      expiresAt,
    ]);
  }
  if (rows.size === 0) return;
  const entries = [...rows];
  await client.query({
    text: `INSERT INTO ${table} (key, state, value, expires_at)
           SELECT x.k, x.s::bigint[], x.v, x.e
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS x(k, s, v, e)
           ON CONFLICT (key) DO UPDATE
             SET state = EXCLUDED.state, value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
    values: [
      entries.map(([key]) => key),
      entries.map(([, [state]]) => state),
      entries.map(([, [, value]]) => value),
      entries.map(([, [, , expiresAt]]) => expiresAt),
    ],
  });
}
