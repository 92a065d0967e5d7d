import type { Database, Statement } from "./driver.js";

/**
 * The table every process on the file shares, one row per key:
 *
 * ```sql
 * CREATE TABLE IF NOT EXISTS traffik (
 *   key        TEXT    PRIMARY KEY NOT NULL, -- "<namespace>:<uid>:<identity>", or "<namespace>:lock:<name>"
 *   state      TEXT    NOT NULL,             -- a strategy's state, numbers joined by commas (or a lock's token)
 *   expires_at INTEGER NOT NULL              -- ms since the epoch; from then on the row counts as absent
 * ) WITHOUT ROWID
 * ```
 *
 * WITHOUT ROWID keeps each row in the primary key's B-tree, so a decision reads and writes one
 * tree. There is no index on `expires_at`: it would be written on every decision, while the
 * sweep ({@link SweepCursor}) walks the keys instead.
 */
export function createTable(db: Database, table: string): void {
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID`,
  );
}

/** Never expires: the lifetime of a value `set` without a TTL. */
export const FOREVER = Number.MAX_SAFE_INTEGER;

/** A live row as {@link Statements.read} returns it. */
export interface Row {
  readonly state: string;
  readonly expiresAt: number;
}

/** Every statement the backend runs, prepared once per connection. */
export interface Statements {
  /** Takes the write lock at once, so a read-modify-write cannot interleave with another's. */
  readonly beginWrite: Statement;
  /** A read transaction: one snapshot for all the keys of a peek. */
  readonly beginRead: Statement;
  readonly commit: Statement;
  readonly rollback: Statement;
  /** `(key, now)` → `{ state, expiresAt }` of a live row, or nothing. */
  readonly read: Statement;
  /** `(key, state, expiresAt)`: inserts or replaces. */
  readonly write: Statement;
  /** `(key)` */
  readonly remove: Statement;
  /** `(key, token, expiresAt, now)`: takes a lock that is free or expired; `changes` 1 if taken. */
  readonly takeLock: Statement;
  /** `(key, token, now)`: frees a lock only for its live holder; `changes` 1 if freed. */
  readonly releaseLock: Statement;
  /** `(from, below)`: removes every key in `[from, below)`. */
  readonly removeRange: Statement;
  /** `(after, below, limit)` → `{ key, expiresAt }[]` in key order: one slice of the sweep. */
  readonly slice: Statement;
}

/** Prepares {@link Statements} on `db` for `table` (a checked identifier). */
export function prepareStatements(db: Database, table: string): Statements {
  return {
    beginWrite: db.prepare("BEGIN IMMEDIATE"),
    beginRead: db.prepare("BEGIN"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    read: db.prepare(
      `SELECT state, expires_at AS expiresAt FROM ${table} WHERE key = ? AND expires_at > ?`,
    ),
    write: db.prepare(
      `INSERT INTO ${table} (key, state, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at`,
    ),
    remove: db.prepare(`DELETE FROM ${table} WHERE key = ?`),
    takeLock: db.prepare(
      `INSERT INTO ${table} (key, state, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at WHERE expires_at <= ?`,
    ),
    releaseLock: db.prepare(`DELETE FROM ${table} WHERE key = ? AND state = ? AND expires_at > ?`),
    removeRange: db.prepare(`DELETE FROM ${table} WHERE key >= ? AND key < ?`),
    slice: db.prepare(
      `SELECT key, expires_at AS expiresAt FROM ${table} WHERE key > ? AND key < ? ORDER BY key LIMIT ?`,
    ),
  };
}
