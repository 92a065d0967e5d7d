import { BackendConfigurationError, BackendConnectionError, BackendError } from "../../errors.js";
import { ISOLATION_SQLSTATE, LATE_SQLSTATE } from "./sql/strategies.js";

/**
 * The least time a new connection gets to open, and `initialize()` to set up, in ms: forty
 * connections opened at once on a busy server (a fork each) took over a second here, and so
 * did creating the schema beside a benchmark's load.
 */
export const SETUP_FLOOR_MS = 5000;

/** A query as `pg` takes it: a name makes it a statement prepared once per connection. */
export interface PostgresQuery {
  /** The SQL, with `$1`, `$2`... for the values. */
  readonly text: string;
  /** The parameters' values, in order. */
  readonly values?: unknown[];
  /** The prepared statement's name, for a statement run often. */
  readonly name?: string;
}

/** The slice of a `pg.Pool` used here. */
export interface PostgresPool {
  /** Runs one query on any connection of the pool. */
  query(query: PostgresQuery): Promise<{
    /** The rows returned, as objects keyed by column. */
    rows: unknown[];
  }>;
  /** A connection of the pool for a transaction; `release(error)` discards it. */
  connect(): Promise<PostgresClient>;
  /** Closes every connection of the pool; only for a pool the backend opened itself. */
  end(): Promise<void>;
}

/** The slice of a pooled `pg` client used for a transaction. */
export interface PostgresClient {
  /** Runs one query on this connection. */
  query(query: PostgresQuery | string): Promise<{
    /** The rows returned, as objects keyed by column. */
    rows: unknown[];
  }>;
  /** Gives the connection back to the pool; with an error (or `true`), the pool discards it. */
  release(error?: Error | boolean): void;
  /** Listens for a failure of the connection while it is checked out (a server restart). */
  on(event: "error", listener: (error: Error) => void): unknown;
}

const heard = new WeakSet<PostgresClient>();

/**
 * `client`, listened to for `"error"`: a connection that drops while checked out (a server
 * restart) emits one, which would end the process unheard. The query in flight fails anyway,
 * and the pool discards the client when it is released with that failure.
 */
export function listened(client: PostgresClient): PostgresClient {
  if (!heard.has(client)) {
    heard.add(client);
    client.on("error", () => {});
  }
  return client;
}

/** Whether `value` looks like a `pg.Pool`. */
export function isPool(value: unknown): value is PostgresPool {
  const pool = value as Partial<PostgresPool> | null;
  return (
    typeof pool === "object" &&
    pool !== null &&
    typeof pool.query === "function" &&
    typeof pool.connect === "function" &&
    typeof pool.end === "function"
  );
}

/**
 * Opens a `pg.Pool` of `size` connections to `url`; connecting waits at most `timeoutMs`.
 * Dropped idle connections (a server restart) are left to the pool, which replaces them.
 * @throws {BackendConfigurationError} when the `pg` package is not installed.
 */
export async function openPool(
  url: string,
  size: number,
  timeoutMs: number,
): Promise<PostgresPool> {
  let pg: typeof import("pg").default;
  try {
    pg = (await import("pg")).default;
  } catch (error) {
    throw new BackendConfigurationError(
      'PostgresBackend needs the "pg" package, which is not installed: npm install pg',
      { cause: error },
    );
  }
  // Waiting for a free connection has no deadline: that is waiting for a turn in this process,
  // not an outage (maxPending bounds how many wait). The pool's own connectionTimeoutMillis
  // would bound that wait too, so the bound goes to each client's connecting instead: the
  // deadline, but at least SETUP_FLOOR_MS.
  const connectionTimeoutMillis = Math.max(timeoutMs, SETUP_FLOOR_MS);
  class TimedClient extends pg.Client {
    constructor(config?: import("pg").ClientConfig) {
      super({ ...config, connectionTimeoutMillis });
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: size, Client: TimedClient });
  pool.on("error", () => {});
  return pool as unknown as PostgresPool;
}

/** The SQLSTATE a server error carries, if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Whether the server refused the backend in a way retrying cannot mend: bad credentials (28),
 * a missing database (3D000), a privilege (42501), another isolation level than READ
 * COMMITTED, or a server that cannot hold the text of identities.
 */
export function isRefusal(error: unknown): boolean {
  const state = sqlState(error);
  return (
    state !== undefined &&
    (state.startsWith("28") ||
      state === "3D000" ||
      state === "42501" ||
      state === ISOLATION_SQLSTATE)
  );
}

/**
 * Whether a call failed because the table or a decision function is gone (`undefined_table`,
 * `undefined_function`): dropped, or the schema recreated, while the backend ran. `error` may
 * be the server's, or a `BackendError` wrapping it.
 */
export function isSchemaGone(error: unknown): boolean {
  const state = sqlState(error) ?? sqlState((error as { cause?: unknown } | null)?.cause);
  return state === "42P01" || state === "42883";
}

/** Wraps a transport or server failure as a `BackendError` naming the server. */
export function failure(error: unknown, where: string): BackendError {
  if (error instanceof BackendError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const state = sqlState(error);
  if (state === LATE_SQLSTATE) {
    return new BackendError(`PostgreSQL at ${where}: ${message}`, {
      cause: error,
      code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
    });
  }
  if (isRefusal(error)) {
    return new BackendConfigurationError(`PostgreSQL at ${where} refused: ${message}`, {
      cause: error,
    });
  }
  if (state === undefined || state.startsWith("08") || state.startsWith("57")) {
    return new BackendConnectionError(`PostgreSQL at ${where}: ${message}`, { cause: error });
  }
  return new BackendError(`PostgreSQL at ${where}: ${message}`, { cause: error });
}
