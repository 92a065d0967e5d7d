/**
 * What the one-key flood attacks share: four OS processes flood one client's key on one real
 * server, each at ~5 000 requests/s for 4 s, with default backend options and
 * `onError: "allow"` (the worst case: any decision `onError` answered would be admitted).
 * Prints admitted against the limit for the sliding log and GCRA; returns whether the limit
 * held and `onError` decided nothing.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const PROCESSES = 4;
const REQUESTS_PER_PROCESS = 20_000;
const SPREAD_MS = 4_000;
const LIMIT = 100;
const worker = join(import.meta.dirname, "..", "..", "test", "backends", "flood-worker.ts");

/** Floods one key through a fresh server from `start` for each strategy; `true` if it held. */
export async function floodOneKey(
  kind: "redis" | "memcached",
  start: () => Promise<{ address: string; stop(): Promise<void> }>,
): Promise<boolean> {
  let held = true;
  for (const strategy of ["swl", "gcra"]) {
    const server = await start();
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
              kind,
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
      const ok = admitted <= LIMIT && byOnError === 0;
      held &&= ok;
      console.log(
        `${kind}, ${strategy === "swl" ? "sliding log" : "GCRA"}: ${admitted} admitted against a limit of ${LIMIT} ` +
          `(${byOnError} by onError), ${PROCESSES} x ${REQUESTS_PER_PROCESS} requests in ~${seconds.toFixed(1)} s ` +
          `-> ${ok ? "held" : "BROKEN"}`,
      );
    } finally {
      await server.stop();
    }
  }
  return held;
}
