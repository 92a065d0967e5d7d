import { randomUUID } from "node:crypto";
import { pollForLock } from "../poll-lock.js";
import type { Lock, LockOptions } from "../types.js";
import { PostgresConnection } from "./connection.js";
import { SERVER_NOW } from "./sql/strategies.js";

/** The deciding clock in SQL: parameter `$n` (a test clock's time), or the server's. */
const nowParam = (n: number): string => `coalesce($${n}::bigint, ${SERVER_NOW})`;

/**
 * The store primitives of {@link PostgresBackend} over the table's `value` column (what a
 * custom strategy's state and the locks use; built-in strategies keep theirs in `state`):
 * values with an expiry on the deciding clock, locks as rows with an expiry, `reset()`.
 */
export abstract class PostgresStore extends PostgresConnection {
  async get(key: string): Promise<string | null> {
    const rows = await this.query(
      `SELECT value FROM ${this.schema.table} WHERE key = $1 AND (expires_at IS NULL OR expires_at > ${nowParam(2)})`,
      [this.key(key), this.clockArg()],
    );
    return (rows[0] as { value: string | null } | undefined)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.query(
      `INSERT INTO ${this.schema.table} (key, state, value, expires_at)
       VALUES ($1, NULL, $2, CASE WHEN $3::bigint IS NULL THEN NULL ELSE ${nowParam(4)} + $3::bigint END)
       ON CONFLICT (key) DO UPDATE SET state = NULL, value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [this.key(key), value, ttlMs === undefined ? null : Math.ceil(ttlMs), this.clockArg()],
    );
  }

  async delete(key: string): Promise<void> {
    await this.query(`DELETE FROM ${this.schema.table} WHERE key = $1`, [this.key(key)]);
  }

  /**
   * A row `lock:<name>` holding a random token until `ttlMs` from now: taken when absent or
   * expired (one statement), polled for while held, released only by its token.
   */
  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    const ttlMs = options.ttlMs ?? this.lockTtlMs;
    const key = this.key(`lock:${name}`);
    const token = randomUUID();
    await pollForLock(name, ttlMs, options, async () => {
      const rows = await this.query(
        `INSERT INTO ${this.schema.table} AS row_ (key, state, value, expires_at)
         VALUES ($1, NULL, $2, ${nowParam(4)} + $3::bigint)
         ON CONFLICT (key) DO UPDATE SET state = NULL, value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
         WHERE row_.expires_at IS NOT NULL AND row_.expires_at <= ${nowParam(4)}
         RETURNING 1`,
        [key, token, Math.ceil(ttlMs), this.clockArg()],
      );
      return rows.length === 1;
    });
    return {
      release: async () => {
        const rows = await this.query(
          `DELETE FROM ${this.schema.table} WHERE key = $1 AND value = $2
           RETURNING expires_at > ${nowParam(3)} AS held`,
          [key, token, this.clockArg()],
        );
        return (rows[0] as { held: boolean } | undefined)?.held === true;
      },
    };
  }

  /** Deletes every row of this namespace (one index range). */
  async reset(): Promise<void> {
    await this.query(`DELETE FROM ${this.schema.table} WHERE key >= $1 AND key < $2`, [
      ...this.range,
    ]);
  }
}
