import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

const root = join(import.meta.dirname, "..", "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, unknown>;
};
const subpaths = Object.keys(manifest.exports)
  .filter((key) => key !== "./package.json")
  .map((key) => (key === "." ? "traffik" : `traffik/${key.slice(2)}`));

// What each subpath must export, from ESM and CommonJS alike.
const expected: Record<string, string[]> = {
  traffik: [
    "Rate",
    "HTTPThrottle",
    "WebSocketThrottle",
    "BaseThrottle",
    "UNLIMITED",
    "ThrottleBackend",
    "hitAll",
    "tryHitAll",
    "ConnectionThrottled",
    "clientAddress",
    "throttled",
  ],
  "traffik/strategies": [
    "FixedWindowStrategy",
    "SlidingWindowLogStrategy",
    "SlidingWindowCounterStrategy",
    "TokenBucketStrategy",
    "TokenBucketWithDebtStrategy",
    "LeakyBucketStrategy",
    "LeakyBucketWithQueueStrategy",
    "GCRAStrategy",
  ],
  "traffik/errors": [
    "TraffikError",
    "TraffikException",
    "ConfigurationError",
    "BackendConfigurationError",
    "AnonymousConnection",
    "ConnectionThrottled",
    "BackendError",
    "BackendConnectionError",
    "InvalidCost",
  ],
  "traffik/backends/inmemory": ["InMemoryBackend"],
  "traffik/backends/redis": ["RedisBackend"],
  "traffik/backends/memcached": ["MemcachedBackend"],
  // Each loads without its framework installed: the framework is an optional peer.
  "traffik/express": ["throttled", "ThrottleMiddleware", "MiddlewareThrottle"],
  "traffik/fastify": ["throttled", "ThrottleMiddleware", "MiddlewareThrottle"],
  "traffik/hono": ["throttled", "ThrottleMiddleware", "MiddlewareThrottle"],
  "traffik/ws": ["throttleMessages", "throttleUpgrade", "guardMessages"],
  "traffik/nestjs": ["TraffikModule", "Throttled", "SkipThrottle", "TraffikGuard"],
};

describe("the packed package", () => {
  let project = "";

  before(() => {
    project = mkdtempSync(join(tmpdir(), "traffik-pack-"));
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
    const tarball = execFileSync("npm", ["pack", "--pack-destination", project], {
      cwd: root,
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .at(-1) as string;
    writeFileSync(join(project, "package.json"), '{"name":"consumer","private":true}');
    execFileSync(
      "npm",
      ["install", "--no-audit", "--no-fund", "--offline", join(project, tarball)],
      {
        cwd: project,
        stdio: "ignore",
      },
    );
  });

  after(() => rmSync(project, { recursive: true, force: true }));

  it("declares every subpath the design names", () => {
    assert.deepEqual(subpaths.sort(), Object.keys(expected).sort());
  });

  for (const format of ["esm", "cjs"] as const) {
    it(`imports every subpath from ${format === "esm" ? "ES modules" : "CommonJS"}, sharing one copy of the core`, () => {
      const load = (name: string) =>
        format === "esm"
          ? `await import(${JSON.stringify(name)})`
          : `require(${JSON.stringify(name)})`;
      const script = `
        const loaded = {};
        for (const name of ${JSON.stringify(subpaths)}) loaded[name] = ${load("NAME").replace('"NAME"', "name")};
        const missing = [];
        for (const [name, names] of Object.entries(${JSON.stringify(expected)})) {
          for (const n of names) if (loaded[name][n] === undefined) missing.push(name + ":" + n);
        }
        const core = loaded["traffik"];
        const backend = new loaded["traffik/backends/inmemory"].InMemoryBackend({ namespace: "pack" });
        const checks = {
          missing,
          sharedErrors: loaded["traffik/errors"].ConfigurationError === core.ConfigurationError,
          sharedBase: backend instanceof core.ThrottleBackend,
        };
        const throttle = new core.HTTPThrottle({ uid: "p", rate: "1/m", backend });
        const request = { socket: { remoteAddress: "192.0.2.1" }, headers: {} };
        const run = async () => {
          await throttle.hit(request);
          try { await throttle.hit(request); } catch (e) { checks.throttled = e instanceof loaded["traffik/errors"].ConnectionThrottled; }
          console.log(JSON.stringify(checks));
        };
        ${format === "esm" ? "await run();" : "run();"}
      `;
      const file = join(project, format === "esm" ? "check.mjs" : "check.cjs");
      writeFileSync(file, script);
      const output = execFileSync(process.execPath, [file], { cwd: project, encoding: "utf8" });
      assert.deepEqual(JSON.parse(output), {
        missing: [],
        sharedErrors: true,
        sharedBase: true,
        throttled: true,
      });
    });
  }

  it("ships type declarations for both formats", () => {
    const dist = join(project, "node_modules", "traffik", "dist");
    for (const file of [
      "index.d.ts",
      "index.d.cts",
      "strategies/index.d.ts",
      "backends/inmemory/index.d.cts",
      "errors.d.ts",
    ]) {
      assert.ok(readFileSync(join(dist, file), "utf8").length > 0, file);
    }
  });
});
