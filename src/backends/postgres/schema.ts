import { createHash } from "node:crypto";
import { decideFunction } from "./sql/decide.js";

/**
 * Where the backend keeps its states: `schema.table` and the decision function beside it.
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
  /** The quoted, qualified name of the decision function. */
  readonly decide: string;
  /** The statements that create both, idempotent. */
  readonly create: readonly string[];
}

/** Quotes a checked identifier (letters, digits and `_` only; see `options.ts`). */
const quote = (name: string): string => `"${name}"`;

/**
 * The schema objects for `schema.table`. The function's name carries a hash of its source, so
 * processes running different versions of Traffik each call their own, side by side.
 */
export function schemaFor(schema: string, table: string, logged: boolean): Schema {
  const qualified = `${quote(schema)}.${quote(table)}`;
  const source = decideFunction(qualified, "$NAME");
  const version = createHash("sha256").update(source).digest("hex").slice(0, 10);
  const decide = `${quote(schema)}.${quote(`${table}_decide_${version}`)}`;
  return {
    table: qualified,
    decide,
    create: [
      `CREATE ${logged ? "" : "UNLOGGED "}TABLE IF NOT EXISTS ${qualified} (
  key text COLLATE "C" PRIMARY KEY,
  state bigint[],
  value text,
  expires_at bigint
) WITH (fillfactor = 70)`,
      source.replace("$NAME", decide),
    ],
  };
}
