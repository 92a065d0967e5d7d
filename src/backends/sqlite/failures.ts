import { BackendConfigurationError, BackendError, type TraffikError } from "../../errors.js";

/** SQLite's result code on a driver error (`SQLITE_BUSY`, `SQLITE_CANTOPEN`, ...), if any. */
function resultCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

/** Whether another connection held the lock past `busy_timeout`. */
function isBusy(error: unknown): boolean {
  const code = resultCode(error);
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A failure while deciding, as a `BackendError` for `onError`: a lock held by another process
 * past `timeoutMs` is `ERR_TRAFFIK_BACKEND_TIMEOUT`, anything else (a full disk, an I/O error)
 * `ERR_TRAFFIK_BACKEND`.
 */
export function decisionFailure(error: unknown, path: string, timeoutMs: number): BackendError {
  if (error instanceof BackendError) return error;
  if (isBusy(error)) {
    return new BackendError(
      `SQLite database ${path} stayed locked by another connection for over ${timeoutMs} ms.`,
      { cause: error, code: "ERR_TRAFFIK_BACKEND_TIMEOUT" },
    );
  }
  return new BackendError(`SQLite database ${path}: ${describe(error)}`, { cause: error });
}

/**
 * A failure while opening the database or creating its table. A busy database is an outage
 * like any other (another process is writing); anything else (no such directory, no
 * permission, not a database) cannot be fixed by retrying, so it is a configuration error.
 */
export function openingFailure(error: unknown, path: string, timeoutMs: number): TraffikError {
  if (error instanceof BackendError || isBusy(error)) {
    return decisionFailure(error, path, timeoutMs);
  }
  return new BackendConfigurationError(
    `Cannot use ${JSON.stringify(path)} as an SQLite database (${resultCode(error) || "error"}: ${describe(error)}). Check that its directory exists and that this process may write to it.`,
    { cause: error },
  );
}
