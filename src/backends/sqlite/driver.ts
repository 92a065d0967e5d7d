import { BackendConfigurationError } from "../../errors.js";

/** The slice of a `better-sqlite3` prepared statement used here. */
export interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** The slice of a `better-sqlite3` `Database` used here: one synchronous connection. */
export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
  pragma(source: string, options: { simple: true }): unknown;
  close(): unknown;
  readonly inTransaction: boolean;
}

type DatabaseConstructor = new (path: string, options: { timeout: number }) => Database;

/** The driver, named once; a variable so that no declarations of it are needed to build. */
const DRIVER = "better-sqlite3";

/**
 * Loads `better-sqlite3` and opens `path`, waiting up to `busyTimeoutMs` (SQLite's
 * `busy_timeout`) for a lock another process holds. Opening is lazy in SQLite: a path that
 * is not a database fails at the first statement, not here.
 * @throws {BackendConfigurationError} when `better-sqlite3` is not installed.
 */
export async function openDatabase(path: string, busyTimeoutMs: number): Promise<Database> {
  let Driver: DatabaseConstructor;
  try {
    const loaded = (await import(DRIVER)) as { default: DatabaseConstructor };
    Driver = loaded.default;
  } catch (error) {
    throw new BackendConfigurationError(
      'SQLiteBackend needs the "better-sqlite3" package, which is not installed: npm install better-sqlite3@12',
      { cause: error },
    );
  }
  return new Driver(path, { timeout: busyTimeoutMs });
}
