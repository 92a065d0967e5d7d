import { BackendError } from "../../errors.js";
import type { Step } from "../../strategies/strategy.js";
import { adjusted } from "../adjusted.js";
import type { DecisionRequest } from "../types.js";
import { LOCK_CLASS } from "./sql/strategies.js";
import { readStates, type TransactionSite, writeStates } from "./transaction.js";

/**
 * A penalty or reward (`points`, see `Strategy.adjust`) on the client whose row is `key`, in
 * one transaction under the key's advisory lock, the one the decision function and the
 * transaction path take: no decision on the key comes between the read and the write. The
 * state is read, and the server's clock, once the lock is held, and nothing is written past
 * the caller's deadline. Five round trips: a rare operation. @internal
 */
export async function adjustInTransaction(
  site: TransactionSite,
  key: string,
  request: DecisionRequest,
  points: number,
): Promise<Step> {
  const { client } = site;
  let broken: Error | undefined;
  try {
    await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
    await client.query({
      text: `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext($1::text))`,
      values: [key],
    });
    const { now, states } = await readStates(client, site, [key]);
    const { state, step } = adjusted(request, states.get(key), now, points);
    if (performance.now() > site.deadline) {
      throw new BackendError(`PostgreSQL did not adjust within ${site.timeoutMs} ms.`, {
        code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
      });
    }
    // An expired state is stored as it is: every path reads an expired row as absent.
    await writeStates(client, site.table, [key], [request], new Map([[key, state]]));
    await client.query("COMMIT");
    return step;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollback: unknown) => {
      broken = rollback instanceof Error ? rollback : new Error(String(rollback));
    });
    throw error;
  } finally {
    client.release(broken ?? false);
  }
}
