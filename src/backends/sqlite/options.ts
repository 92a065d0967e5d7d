import { ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { BACKEND_OPTION_NAMES, type ThrottleBackendOptions } from "../base.js";

/** Options of {@link SQLiteBackend}. */
export interface SQLiteBackendOptions extends Partial<ThrottleBackendOptions> {
  /**
   * The database file, created if missing; every process that opens the same file shares the
   * limits. Its directory must exist and be writable (SQLite writes `-wal` and `-shm` files
   * beside it). Keep it on a local disk: WAL mode needs shared memory, which network file
   * systems do not give. `":memory:"` keeps the table in this process only.
   */
  path: string;
  /** The table's name: a letter or `_`, then letters, digits or `_`. @default "traffik" */
  table?: string;
  /** Keep the namespace's rows on `close()`; other processes may share them. @default true */
  persistent?: boolean;
  /**
   * The deciding clock, in ms since the epoch (floored to whole ms). Processes on one machine
   * share its wall clock. Tests pass one to replay traces. @default Date.now
   */
  clock?: () => number;
}

/** The options, checked, with their defaults. @internal */
export interface SQLiteSettings {
  readonly base: ThrottleBackendOptions;
  readonly path: string;
  readonly table: string;
  readonly clock: (() => number) | undefined;
}

const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Checks `options`.
 * @throws {ConfigurationError} for an unknown key, a missing path or a table name that is not a
 *   plain identifier (it is written into SQL).
 * @internal
 */
export function sqliteSettings(options: SQLiteBackendOptions): SQLiteSettings {
  if (typeof options !== "object" || options === null) {
    throw new ConfigurationError(
      'SQLiteBackend needs options: { path: "/var/lib/app/limits.db" }.',
    );
  }
  rejectUnknownOptions("SQLiteBackend", options, {
    ...BACKEND_OPTION_NAMES,
    path: true,
    table: true,
    clock: true,
  });
  const { path, table = "traffik", clock } = options;
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new ConfigurationError(
      `SQLiteBackend: path must be a file name (or ":memory:"), got ${JSON.stringify(path)}.`,
    );
  }
  if (typeof table !== "string" || !TABLE_PATTERN.test(table)) {
    throw new ConfigurationError(
      `SQLiteBackend: table must be a letter or "_" and then up to 62 letters, digits or "_", got ${JSON.stringify(table)}.`,
    );
  }
  if (clock !== undefined && typeof clock !== "function") {
    throw new ConfigurationError("SQLiteBackend: clock must be a function returning ms.");
  }
  const base = {
    ...options,
    namespace: options.namespace ?? "traffik",
    persistent: options.persistent ?? true,
  };
  return { base, path, table, clock };
}
