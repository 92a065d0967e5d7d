import { BackendError } from "../../errors.js";
import type { PostgresClient } from "./pool.js";

/** When a query of the pool last settled (`performance.now()`): the pool's sign of life. */
export interface Progress {
  lastAnswerAt: number;
}

/**
 * Waits for a pooled connection: this caller's turn. A busy pool, its connections answering
 * while this process's own queue is long, is never an outage, however long the wait; a
 * stalled one is: when no query of the pool has settled for `timeoutMs` while the caller
 * waited (every connection hangs on a frozen server), the caller gets a timeout
 * `BackendError` and `onError` answers; a connection that comes later goes straight back.
 */
export function awaitTurn(
  connect: () => Promise<PostgresClient>,
  progress: Progress,
  timeoutMs: number,
  where: string,
): Promise<PostgresClient> {
  return new Promise((resolve, reject) => {
    const since = performance.now();
    let done = false;
    const check = (): void => {
      if (done) return;
      const quiet = performance.now() - Math.max(progress.lastAnswerAt, since);
      if (quiet < timeoutMs) {
        timer = setTimeout(check, timeoutMs - quiet);
        return;
      }
      done = true;
      reject(
        new BackendError(
          `PostgreSQL at ${where}: no connection of the pool answered within ${timeoutMs} ms.`,
          { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" },
        ),
      );
    };
    let timer = setTimeout(check, timeoutMs);
    connect().then(
      (client) => {
        if (done) return client.release();
        done = true;
        clearTimeout(timer);
        resolve(client);
      },
      (error: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
