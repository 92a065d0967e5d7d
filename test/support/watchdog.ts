/**
 * Loaded into every test file's process by `npm test` (`--import`), so that a test file can
 * neither hang nor outlive its tests, and says which test or which open handle is to blame.
 *
 * - A test still running after {@link TEST_DEADLINE_MS} fails its file at once, naming itself.
 *   (`--test-timeout` also bounds each file, but only names the file.)
 * - A file whose tests have all finished but whose process is kept alive by something a test
 *   opened and never closed (a server, a client, a socket, a timer, a child process) fails
 *   after {@link LINGER_MS}, listing what is still open.
 *
 * Both end the process with `process.exit(1)`: its `exit` handlers still kill the servers that
 * `servers.ts` started.
 */
import { after, afterEach, beforeEach } from "node:test";

/** Longer than any test takes on a loaded 2-core machine, well inside a CI run. */
const TEST_DEADLINE_MS = 60_000;
/** Time a closed-down file gets to let go of its last sockets before it counts as a leak. */
const LINGER_MS = 10_000;

let running: NodeJS.Timeout | undefined;

beforeEach((t) => {
  // `fullName` ("suite > test") is newer than @types/node 20's typings.
  const name = (t as { fullName?: string }).fullName ?? t.name;
  running = setTimeout(() => {
    console.error(`\n✖ "${name}" was still running after ${TEST_DEADLINE_MS / 1000} s: it hangs.`);
    process.exit(1);
  }, TEST_DEADLINE_MS);
  // A hung test with nothing else open lets the process end; node:test reports that itself.
  running.unref();
});

afterEach(() => {
  clearTimeout(running);
  running = undefined;
});

after(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo();
    console.error(
      `\n✖ the tests finished ${LINGER_MS / 1000} s ago, but something they opened is still open: ${open.join(", ")}.`,
    );
    process.exit(1);
  }, LINGER_MS).unref();
});
