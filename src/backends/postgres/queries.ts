import type { DecisionRequest } from "../types.js";
import type { Mirror } from "./mirrors.js";
import type { PostgresQuery } from "./pool.js";
import type { Schema } from "./schema.js";

/** What every call of a decision function carries besides its requests. */
export interface CallSite {
  readonly schema: Schema;
  /** A test clock's time, or `null` for the server's clock. */
  readonly now: number | null;
  /** The server's time past which a consuming call writes nothing, or `null` for none. */
  readonly deadline: number | null;
  /** The namespace's keys, `[from, to)`, and where the sweep goes on from. */
  readonly range: readonly [from: string, to: string];
  readonly sweepFrom: string | null;
  /** How many keys this call's sweep examines (0: no sweep). */
  readonly sweepRows: number;
}

/** A prepared statement's name for a function: unique per function, hence per version. */
const statementName = (qualified: string): string => qualified.slice(-28, -1);

/**
 * The group function's call (see `sql/decide.ts`) for `requests`, each with its table key
 * and mirror, and its reply in column `r`: a text per request, then the sweep's last key.
 */
export function decideGroupQuery(
  site: CallSite,
  keys: readonly string[],
  requests: readonly DecisionRequest[],
  mirrors: readonly Mirror[],
  consume: boolean,
): PostgresQuery {
  const { decide } = site.schema;
  return {
    name: statementName(decide),
    text: `SELECT ${decide}($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::boolean, $9::bigint, $10::bigint, $11::text, $12::text, $13::integer) AS r`,
    values: [
      keys,
      mirrors.map(([code]) => code),
      requests.map((r) => r.cost),
      requests.map((r) => r.rate.limit),
      requests.map((r) => r.rate.windowMs),
      mirrors.map(([, first]) => first),
      mirrors.map(([, , second]) => second),
      consume,
      site.now,
      site.deadline,
      site.sweepFrom ?? site.range[0],
      site.range[1],
      site.sweepRows,
    ],
  };
}

/**
 * The lone request's function call (see `sql/decide-one.ts`), in scalars: nothing for `pg`
 * to encode as arrays or parse back, and its reply one text in column `r`.
 */
export function decideOneQuery(
  site: CallSite,
  key: string,
  request: Pick<DecisionRequest, "cost"> & { readonly rate: { limit: number; windowMs: number } },
  [code, first, second]: Mirror,
  consume: boolean,
): PostgresQuery {
  const { decideOne } = site.schema;
  return {
    name: statementName(decideOne),
    text: `SELECT ${decideOne}($1::text, $2::text, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::boolean, $9::bigint, $10::bigint, $11::text, $12::text, $13::integer) AS r`,
    values: [
      key,
      code,
      request.cost,
      request.rate.limit,
      request.rate.windowMs,
      first,
      second,
      consume,
      site.now,
      site.deadline,
      site.sweepFrom ?? site.range[0],
      site.range[1],
      site.sweepRows,
    ],
  };
}
