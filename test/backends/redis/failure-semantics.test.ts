import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import express from "express";
import { Redis } from "ioredis";
import type { RedisBackend } from "../../../src/backends/redis/index.js";
import {
  BackendConfigurationError,
  BackendConnectionError,
  BackendError,
} from "../../../src/errors.js";
import { MiddlewareThrottle, ThrottleMiddleware } from "../../../src/integrations/express/index.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  SlidingWindowLogStrategy,
} from "../../../src/strategies/index.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";
import { backendOn, clientKinds } from "../../support/redis-clients.js";
import { freePort, hasBinary, type RedisServer, startRedis } from "../../support/servers.js";

const run = promisify(execFile);
const enabled = hasBinary("redis-server");
const conn = (ip = "192.0.2.5") => ({ ip });

/** Waits until the backend has no call waiting on the server (they settle or time out). */
async function drained(backend: RedisBackend): Promise<void> {
  while (backend.pendingCommands > 0) await sleep(20);
}

/** Waits until a frozen server that was let go has answered everything sent before. */
async function caughtUp(server: RedisServer): Promise<void> {
  const probe = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    await probe.ping();
    // Connections are served in turn: a round of them later, the old ones have been read.
    await sleep(300);
    await probe.ping();
  } finally {
    probe.disconnect();
  }
}

for (const kind of clientKinds)
  describe(`RedisBackend while redis-server is frozen (SIGSTOP), through ${kind.name}`, {
    skip: !enabled,
  }, () => {
    for (const strategy of [
      new FixedWindowStrategy(),
      new SlidingWindowLogStrategy(),
      new GCRAStrategy(),
    ]) {
      it(`${strategy.name}: charges nothing when it wakes for decisions onError answered`, async (t) => {
        const server = await startRedis();
        const backend = backendOn(kind, server.url, {
          namespace: "ghost",
          // What onError does, so degraded mode (which would decide instead) is off.
          degradedMode: false,
          timeoutMs: 200,
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
          strategy,
        });
        await backend.ready(); // connected before the clock of the first decision starts
        for (let i = 0; i < 3; i++) assert.equal((await throttle.tryHit(conn())).allowed, true);
        const counted = (await throttle.peek(conn())).remaining;

        await server.freeze();
        // The first goes alone, the rest in batches: both kinds of call.
        const decisions = await Promise.all(
          Array.from({ length: 40 }, () => throttle.tryHit(conn())),
        );
        assert.deepEqual(
          new Set(decisions.map((d) => `${d.source}:${d.allowed}`)),
          new Set(["error:false"]),
        );
        server.thaw();
        await caughtUp(server);
        await drained(backend);
        assert.equal(
          (await throttle.peek(conn())).remaining,
          counted,
          "only the three admitted count",
        );
      });
    }

    it("holds at most maxPending calls, and lets go of what it held", async (t) => {
      const server = await startRedis();
      const backend = backendOn(kind, server.url, {
        namespace: "pile",
        // What onError does, so degraded mode (which would decide instead) is off.
        degradedMode: false,
        timeoutMs: 200,
        maxPending: 20,
        blockCache: false,
      });
      t.after(async () => {
        server.thaw();
        await backend.close();
        await server.stop();
      });
      const throttle = new HTTPThrottle({
        uid: "p",
        rate: "5/h",
        backend,
        onError: "throttle",
        strategy: new SlidingWindowLogStrategy(),
      });
      await throttle.tryHit(conn());
      const held = () =>
        (backend.redis as unknown as { commandQueue: { length: number } }).commandQueue.length;
      await server.freeze();
      let peak = 0;
      for (let wave = 0; wave < 20; wave++) {
        const decisions = Array.from({ length: 100 }, (_, i) =>
          throttle.tryHit(conn(`10.0.${wave}.${i}`)),
        );
        peak = Math.max(peak, backend.pendingCommands);
        await Promise.all(decisions);
      }
      assert.ok(peak <= 20, `${peak} calls waiting on a frozen server`);
      if (kind.name !== "ioredis") {
        // node-redis has no timeout for a reply: it holds what it sent (at most maxPending, as
        // the backend sends no more meanwhile) until the server answers or the socket drops.
        assert.ok(backend.pendingCommands <= 20, `${backend.pendingCommands} held`);
        server.thaw();
        await drained(backend);
        return;
      }
      await drained(backend);
      // ioredis lets go of timed-out commands when its socket times out: soon, however busy the
      // machine, but not at a moment the test can name. A bound far from both outcomes.
      for (let poll = 0; poll < 500 && held() > 0; poll++) await sleep(20);
      assert.equal(held(), 0, "commands ioredis still holds for a frozen server");
    });

    it("clears, resets and closes within the deadline", { timeout: 20_000 }, async (t) => {
      const server = await startRedis();
      const backend = backendOn(kind, server.url, {
        namespace: "shutdown",
        timeoutMs: 200,
        persistent: false,
      });
      t.after(async () => {
        server.thaw();
        await server.stop();
      });
      await backend.ready();
      await server.freeze();
      await assert.rejects(backend.clear("u", "client"), { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" });
      // ioredis has dropped the silent connection by now, and the next calls fail at once;
      // node-redis keeps it, and the deadline answers them.
      await assert.rejects(backend.reset(), BackendError);
      await assert.rejects(backend.close(), BackendError);
    });
  });

for (const kind of clientKinds)
  describe(`RedisBackend misconfigured: loud, whatever onError says, through ${kind.name}`, {
    skip: !enabled,
  }, () => {
    it("refuses a wrong password at initialize(), and the first request fails with it", async (t) => {
      const server = await startRedis(["--requirepass", "secret"]);
      const wrong = `redis://:wrong@127.0.0.1:${server.port}`;
      const backends = [wrong, `redis://127.0.0.1:${server.port}`].map((url) =>
        backendOn(kind, url, { namespace: "auth", timeoutMs: 500 }),
      );
      t.after(async () => {
        for (const backend of backends) await backend.close();
        await server.stop();
      });
      for (const backend of backends) {
        await assert.rejects(backend.initialize(), (error: Error) => {
          assert.ok(error instanceof BackendConfigurationError, String(error));
          assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
          return true;
        });
      }
      const throttle = new HTTPThrottle({
        uid: "a",
        rate: "5/m",
        backend: backends[0] as RedisBackend,
        onError: "allow",
      });
      await assert.rejects(throttle.hit(conn()), BackendConfigurationError);
    });

    it("refuses a user who may not run scripts", async (t) => {
      const server = await startRedis();
      const admin = new Redis(server.url);
      await admin.call("ACL", "SETUSER", "noscripts", "on", ">pw", "~*", "+@all", "-@scripting");
      const backend = backendOn(kind, `redis://noscripts:pw@127.0.0.1:${server.port}`, {
        namespace: "acl",
      });
      t.after(async () => {
        admin.disconnect();
        await backend.close();
        await server.stop();
      });
      await assert.rejects(backend.initialize(), BackendConfigurationError);
    });

    it("names host:port when Redis cannot be reached", async () => {
      const port = await freePort();
      const backend = backendOn(kind, `redis://127.0.0.1:${port}`, {
        namespace: "away",
        timeoutMs: 300,
      });
      await assert.rejects(backend.initialize(), (error: Error) => {
        assert.ok(error instanceof BackendConnectionError);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      });
      await backend.close();
    });

    it("makes an Express app's first request fail rather than pass, on a refused password", async (t) => {
      const server = await startRedis(["--requirepass", "secret"]);
      const backend = backendOn(kind, `redis://:wrong@127.0.0.1:${server.port}`, {
        namespace: "app",
        timeoutMs: 500,
      });
      const app = express();
      app.use(
        ThrottleMiddleware({
          backend,
          middlewareThrottles: [
            MiddlewareThrottle(new HTTPThrottle({ uid: "api", rate: "5/m", onError: "allow" })),
          ],
        }),
      );
      app.get("/", (_req, res) => {
        res.send("ok");
      });
      const listener = app.listen(0, "127.0.0.1");
      t.after(async () => {
        listener.close();
        await backend.close();
        await server.stop();
      });
      await new Promise((resolve) => listener.once("listening", resolve));
      const { port } = listener.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(response.status, 500);
    });
  });

describe("RedisBackend on a URL without ioredis", () => {
  it("fails loudly without the ioredis package", async () => {
    const worker = join(import.meta.dirname, "..", "missing-client-worker.ts");
    const hide = join(import.meta.dirname, "..", "..", "support", "hide-packages.mjs");
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--import", hide, worker, "redis", "redis://127.0.0.1:1"],
      { encoding: "utf8", env: { ...process.env, TRAFFIK_HIDE: "ioredis" } },
    );
    const outcome = JSON.parse(stdout) as { code?: string; message?: string };
    assert.equal(outcome.code, "ERR_TRAFFIK_BACKEND_CONFIGURATION", stdout);
    assert.match(outcome.message ?? "", /npm install ioredis/);
  });
});
