/**
 * Makes a termination signal end a test process through `process.exit`, so that its `exit`
 * handlers (which kill the servers `servers.ts` and `postgres-server.ts` started) still run.
 * The test runner ends a file that overran its time with SIGTERM, whose default action skips
 * them, and the file's servers used to stay up as orphans. Imported for its effect, once.
 */
import { constants } from "node:os";

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  process.once(signal, () => process.exit(128 + constants.signals[signal]));
}
