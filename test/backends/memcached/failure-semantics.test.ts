import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { hasBinary, type MemcachedServer, startMemcached } from "../../support/servers.js";

const run = promisify(execFile);
const enabled = hasBinary("memcached");

/** Four OS processes flood one key; returns what they admitted in all, and by onError. */
async function flood(
  address: string,
  requests: number,
  spreadMs: number,
): Promise<{ admitted: number; byOnError: number }> {
  const worker = join(import.meta.dirname, "..", "flood-worker.ts");
  const startAt = String(Date.now() + 2500);
  const outputs = await Promise.all(
    [0, 1, 2, 3].map(() =>
      run(
        process.execPath,
        [
          "--import",
          "tsx",
          worker,
          "memcached",
          address,
          String(requests),
          String(spreadMs),
          "swl",
          startAt,
        ],
        { encoding: "utf8" },
      ),
    ),
  );
  const total = { admitted: 0, byOnError: 0 };
  for (const { stdout } of outputs) {
    const counts = JSON.parse(stdout) as { admitted: number; byOnError: number };
    total.admitted += counts.admitted;
    total.byOnError += counts.byOnError;
  }
  return total;
}

describe("MemcachedBackend under a one-key flood", { skip: !enabled }, () => {
  let server: MemcachedServer;
  before(async () => {
    server = await startMemcached();
  });
  after(async () => {
    await server.stop();
  });

  it("admits no more than the limit across four processes, default options, onError allow", async () => {
    const { admitted, byOnError } = await flood(server.address, 6000, 1200);
    assert.equal(byOnError, 0, "waiting behind this process's own queue is not an outage");
    assert.ok(admitted <= 100, `${admitted} admitted against a limit of 100`);
  });
});
