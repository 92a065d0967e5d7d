import { createHash } from "node:crypto";
import { decideFunction } from "./sql/decide.js";
import { decideOneFunction } from "./sql/decide-one.js";

/**
 * Where the backend keeps its states: `schema.table` and the decision functions beside it.
 *
 * The table, one row per client and throttle (and per lock or value of the store primitives):
 *
 * ```sql
 * CREATE UNLOGGED TABLE IF NOT EXISTS "public"."traffik_state" (
 *   key        text COLLATE "C" PRIMARY KEY, -- namespace:uid:identity
 *   state      bigint[],                     -- a built-in strategy's state; state[1] = expiry
 *   value      text,                         -- a store primitive's value (custom strategies, locks)
 *   expires_at bigint                        -- ms on the deciding clock; NULL: never
 * ) WITH (fillfactor = 70);
 * ```
 *
 * UNLOGGED by default: no write-ahead log for every decision, so writes cost a fraction; the
 * price is that a crash of the server (not a clean restart) empties the table, handing every
 * client a fresh quota once. `logged: true` keeps it through crashes. The `C` collation keeps
 * a namespace's keys one index range (for `reset()` and the sweep); the fill factor leaves
 * room on each page so that rewriting a state stays a heap-only update. An expired row counts
 * as absent in every decision; the sweep deletes it later.
 */
export interface Schema {
  /** The quoted, qualified table name. */
  readonly table: string;
  /** The quoted, qualified name of the decision function for groups. */
  readonly decide: string;
  /** The quoted, qualified name of the decision function for a lone request. */
  readonly decideOne: string;
  /** The statements that create the table and both functions, idempotent. */
  readonly create: readonly string[];
}

/** Quotes a checked identifier (letters, digits and `_` only; see `options.ts`). */
const quote = (name: string): string => `"${name}"`;

/**
 * The schema objects for `schema.table`. The functions' names carry a hash of their source,
 * so processes running different versions of Traffik each call their own, side by side.
 */
export function schemaFor(schema: string, table: string, logged: boolean): Schema {
  const qualified = `${quote(schema)}.${quote(table)}`;
  const group = decideFunction(qualified, "$NAME");
  const one = decideOneFunction(qualified, "$NAME");
  const version = createHash("sha256").update(group).update(one).digest("hex").slice(0, 10);
  const decide = `${quote(schema)}.${quote(`${table}_decide_${version}`)}`;
  const decideOne = `${quote(schema)}.${quote(`${table}_lone_${version}`)}`;
  return {
    table: qualified,
    decide,
    decideOne,
    create: [
      `CREATE ${logged ? "" : "UNLOGGED "}TABLE IF NOT EXISTS ${qualified} (
  key text COLLATE "C" PRIMARY KEY,
  state bigint[],
  value text,
  expires_at bigint
) WITH (fillfactor = 70)`,
      group.replace("$NAME", decide),
      one.replace("$NAME", decideOne),
    ],
  };
}
