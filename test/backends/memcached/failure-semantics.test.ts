import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { MemcachedBackend } from "../../../src/backends/memcached/index.js";
import { BackendConnectionError } from "../../../src/errors.js";
import { SlidingWindowLogStrategy } from "../../../src/strategies/index.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";
import {
  freePort,
  hasBinary,
  type MemcachedServer,
  memcachedStats,
  startMemcached,
} from "../../support/servers.js";

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

/** Commands memcached has run so far (reads, writes, compare-and-swaps, increments). */
async function commandsRun(port: number): Promise<number> {
  const stats = await memcachedStats(port);
  return (
    (stats.cmd_get ?? 0) +
    (stats.cmd_set ?? 0) +
    (stats.cmd_touch ?? 0) +
    (stats.incr_hits ?? 0) +
    (stats.incr_misses ?? 0)
  );
}

/** Waits until the backend has no command waiting on the server (they settle or time out). */
async function drained(backend: MemcachedBackend): Promise<void> {
  while (backend.pendingCommands > 0) await sleep(20);
}

describe("MemcachedBackend while memcached is frozen (SIGSTOP)", { skip: !enabled }, () => {
  it("charges nothing, and sends nothing, for decisions onError answered", async (t) => {
    const server = await startMemcached();
    const backend = new MemcachedBackend({
      servers: [server.address],
      namespace: "ghost",
      // What onError does, so degraded mode (which would decide instead) is off.
      degradedMode: false,
      // Far above a loaded machine's answer time (1 s was not, for the first call), so only
      // the freeze times calls out.
      timeoutMs: 10_000,
    });
    t.after(async () => {
      server.thaw();
      await backend.close();
      await server.stop();
    });
    const throttle = new HTTPThrottle({
      uid: "g",
      rate: "100/h",
      backend,
      onError: "throttle",
      strategy: new SlidingWindowLogStrategy(),
    });
    const conn = { ip: "192.0.2.5" };
    for (let i = 0; i < 3; i++) assert.equal((await throttle.tryHit(conn)).allowed, true);
    const counted = (await throttle.peek(conn)).remaining;

    await server.freeze();
    const decisions = await Promise.all(Array.from({ length: 60 }, () => throttle.tryHit(conn)));
    assert.deepEqual(
      new Set(decisions.map((d) => `${d.source}:${d.allowed}`)),
      new Set(["error:false"]),
    );
    await drained(backend);
    server.thaw();
    const before = await commandsRun(server.port);
    // Long enough for anything left queued in this process to reach the server.
    await sleep(600);
    const sentLater = (await commandsRun(server.port)) - before;
    assert.ok(sentLater <= 2, `${sentLater} commands sent after the thaw for answered decisions`);
    assert.equal((await throttle.peek(conn)).remaining, counted, "only the three admitted count");
  });

  it("holds at most maxPending commands for a flood of new clients, deciding the rest by onError", async (t) => {
    const server = await startMemcached();
    const backend = new MemcachedBackend({
      servers: [server.address],
      namespace: "pile",
      // What onError does, so degraded mode (which would decide instead) is off.
      degradedMode: false,
      // Only the freeze reaches it, not the call before it on a loaded machine.
      timeoutMs: 2_000,
      maxPending: 50,
    });
    t.after(async () => {
      server.thaw();
      await backend.close();
      await server.stop();
    });
    const throttle = new HTTPThrottle({ uid: "p", rate: "5/h", backend, onError: "throttle" });
    await throttle.tryHit({ ip: "192.0.2.1" });
    await server.freeze();
    let peak = 0;
    const decisions: Promise<unknown>[] = [];
    for (let i = 0; i < 2000; i++) {
      decisions.push(throttle.tryHit({ ip: `10.0.${i >> 8}.${i & 255}` }));
      peak = Math.max(peak, backend.pendingCommands);
    }
    await Promise.all(decisions);
    assert.ok(peak <= 50, `${peak} commands waiting on a frozen server`);
  });

  it("closes, resets and clears within the deadline", { timeout: 50_000 }, async (t) => {
    const server = await startMemcached();
    const backend = new MemcachedBackend({
      servers: [server.address],
      namespace: "shutdown",
      // Only the freeze reaches it, not `initialize()` before it on a loaded machine.
      timeoutMs: 2_000,
      persistent: false,
    });
    t.after(async () => {
      server.thaw();
      await server.stop();
    });
    await backend.initialize();
    await server.freeze();
    await assert.rejects(backend.clear("u", "client"), { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" });
    await assert.rejects(backend.reset(), { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" });
    await assert.rejects(backend.close(), { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" });
  });
});

describe("MemcachedBackend misconfigured: loud, whatever onError says", () => {
  it("fails loudly without the memcache-client package", async () => {
    const worker = join(import.meta.dirname, "..", "missing-client-worker.ts");
    const hide = join(import.meta.dirname, "..", "..", "support", "hide-packages.mjs");
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--import", hide, worker, "memcached", "127.0.0.1:1"],
      { encoding: "utf8", env: { ...process.env, TRAFFIK_HIDE: "memcache-client" } },
    );
    const outcome = JSON.parse(stdout) as { code?: string; message?: string };
    assert.equal(outcome.code, "ERR_TRAFFIK_BACKEND_CONFIGURATION", stdout);
    assert.match(outcome.message ?? "", /npm install memcache-client/);
  });

  it("names host:port when memcached cannot be reached", async () => {
    const port = await freePort();
    const backend = new MemcachedBackend({ servers: [`127.0.0.1:${port}`], timeoutMs: 300 });
    await assert.rejects(backend.initialize(), (error: Error) => {
      assert.ok(error instanceof BackendConnectionError, String(error));
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
    await backend.close();
  });
});
