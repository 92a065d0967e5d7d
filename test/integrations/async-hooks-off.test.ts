/**
 * Setting up an app's middleware leaves Node's async hooks off: on Node 20 a single
 * `AsyncLocalStorage.run` turns them on for the life of the process, a cost on every promise
 * the app makes afterwards, throttled or not. Probed in a process of its own
 * (fixtures/async-hooks-probe.ts), since the test runner's watchdog turns them on here.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";

describe("ThrottleMiddleware and async hooks", { timeout: 60_000 }, () => {
  it("claims its throttles' uids at startup without turning async hooks on", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "fixtures", "async-hooks-probe.ts")],
      { timeout: 50_000 },
    );
    const { before, after, claimed } = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(before, 0, "async hooks were on before any setup: the probe proves nothing");
    assert.equal(after, 0, "setting up a ThrottleMiddleware turned async hooks on");
    assert.equal(claimed, true, "the throttles' uids were not claimed at setup");
  });
});
