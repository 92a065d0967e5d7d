/**
 * Attack: four OS processes flood one client's key on one real memcached, each at ~5 000
 * requests/s for 4 s, with default backend options and `onError: "allow"` (the worst case: any
 * decision `onError` answered would be admitted). Issue 14 item 1 measured 65 298 admitted
 * against a limit of 100 this way (sliding log; GCRA 58 009): decisions timed out waiting
 * behind their own process's queue. Prints admitted against the limit for the sliding log and
 * GCRA; fails if either admits more than the limit, or if `onError` decided anything.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startMemcached } from "../../test/support/servers.js";

const run = promisify(execFile);
const PROCESSES = 4;
const REQUESTS_PER_PROCESS = 20_000;
const SPREAD_MS = 4_000;
const LIMIT = 100;
const worker = join(import.meta.dirname, "..", "..", "test", "backends", "flood-worker.ts");

let broken = false;
for (const strategy of ["swl", "gcra"]) {
  const server = await startMemcached();
  try {
    const startAt = String(Date.now() + 3000);
    const started = performance.now();
    const outputs = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        run(
          process.execPath,
          [
            "--import",
            "tsx",
            worker,
            "memcached",
            server.address,
            String(REQUESTS_PER_PROCESS),
            String(SPREAD_MS),
            strategy,
            startAt,
          ],
          { encoding: "utf8", timeout: 60_000 },
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000 - 3;
    let admitted = 0;
    let byOnError = 0;
    for (const { stdout } of outputs) {
      const counts = JSON.parse(stdout) as { admitted: number; byOnError: number };
      admitted += counts.admitted;
      byOnError += counts.byOnError;
    }
    const held = admitted <= LIMIT && byOnError === 0;
    broken ||= !held;
    console.log(
      `${strategy === "swl" ? "sliding log" : "GCRA"}: ${admitted} admitted against a limit of ${LIMIT} ` +
        `(${byOnError} by onError), ${PROCESSES} x ${REQUESTS_PER_PROCESS} requests in ~${seconds.toFixed(1)} s ` +
        `-> ${held ? "held" : "BROKEN"}`,
    );
  } finally {
    await server.stop();
  }
}
process.exitCode = broken ? 1 : 0;
