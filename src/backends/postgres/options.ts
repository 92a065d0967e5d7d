import { ConfigurationError } from "../../errors.js";
import type { OptionNames } from "../../internal/known-keys.js";
import { BACKEND_OPTION_NAMES, type ThrottleBackendOptions } from "../base.js";
import type { PostgresPool } from "./pool.js";

/** Options of {@link PostgresBackend}. */
export interface PostgresBackendOptions extends Partial<ThrottleBackendOptions> {
  /**
   * A `postgres://` URL (the backend makes and owns a `pg.Pool` of `poolSize` connections), or
   * a `pg.Pool` of yours (anything with `query` and `end`), which the backend uses and never
   * ends. Give your pool an `"error"` listener: `pg` emits one when an idle connection drops
   * (a server restart), and an unheard one ends the process.
   */
  connection: string | PostgresPool;
  /** Connections of the pool the backend makes from a URL. @default 10 */
  poolSize?: number;
  /** The schema holding the table and its function. @default "public" */
  schema?: string;
  /** The table of states (letters, digits and `_`, at most 45). @default "traffik_state" */
  table?: string;
  /**
   * Create the table as a logged one, kept through a crash of the server. By default it is
   * UNLOGGED: much cheaper writes, emptied by a crash (every client starts afresh once).
   * Only applies when `initialize()` creates the table. @default false
   */
  logged?: boolean;
  /** Keep the namespace's rows on `close()`; other processes may share them. @default true */
  persistent?: boolean;
  /**
   * Expired rows are deleted by a bounded sweep carried by a decision: every `every`
   * decisions, one also examines the next `rows` keys of the namespace (in key order, going
   * round) and deletes those expired. `false` never sweeps. @default { every: 100, rows: 500 }
   */
  sweep?:
    | false
    | {
        /** How many decisions from one sweep to the next. */
        every: number;
        /** How many keys of the namespace one sweep examines. */
        rows: number;
      };
  /**
   * For tests only: the deciding clock in ms. By default decisions are on the PostgreSQL
   * server's clock (`clock_timestamp()`), so application servers with skewed clocks agree.
   */
  clock?: () => number;
}

/** The names of {@link PostgresBackendOptions}, for the check of unknown keys. */
export const OPTION_NAMES: OptionNames<PostgresBackendOptions> = {
  ...BACKEND_OPTION_NAMES,
  connection: true,
  poolSize: true,
  schema: true,
  table: true,
  logged: true,
  sweep: true,
  clock: true,
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks a schema or table name: it is written into SQL (quoted), so it is kept plain, and
 * short enough for the function named after it (PostgreSQL cuts names at 63 bytes).
 */
export function identifier(option: string, value: unknown, maxLength: number): string {
  if (typeof value !== "string" || !IDENTIFIER.test(value) || value.length > maxLength) {
    throw new ConfigurationError(
      `PostgresBackend's ${option} must be 1 to ${maxLength} letters, digits or "_", not starting with a digit; got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/** Checks a whole number of at least 1. */
export function positiveInteger(option: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(
      `PostgresBackend's ${option} must be a whole number of at least 1; got ${String(value)}.`,
    );
  }
  return value;
}

/** The sweep's settings, checked, or `undefined` for none. */
export function sweepOption(
  sweep: PostgresBackendOptions["sweep"],
): { every: number; rows: number } | undefined {
  if (sweep === false) return undefined;
  if (sweep === undefined) return { every: 100, rows: 500 };
  if (typeof sweep !== "object" || sweep === null) {
    throw new ConfigurationError(
      "PostgresBackend's sweep must be false or { every, rows } (whole numbers).",
    );
  }
  return {
    every: positiveInteger("sweep.every", sweep.every),
    rows: positiveInteger("sweep.rows", sweep.rows),
  };
}
