import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { expectedExports } from "./expected-exports.js";
import { installPacked, publishedExports, type Resolution, root } from "./packed.js";

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, unknown>;
};
const subpaths = Object.keys(manifest.exports)
  .filter((key) => key !== "./package.json")
  .map((key) => (key === "." ? "traffik" : `traffik/${key.slice(2)}`));
const expectedValues = Object.fromEntries(
  Object.entries(expectedExports).map(([name, { values }]) => [name, values]),
);

/**
 * What the packed package exports and types, checked installed in a project of its own. What a
 * consumer runs and compiles with it is in installed.test.ts: split so that each file, built
 * tarball shared (see tarball.ts), stays well within the per-file limit on a loaded machine.
 */
describe("the packed package", () => {
  let project = "";
  let tarball = "";

  before(() => {
    ({ project, tarball } = installPacked());
  });

  after(() => rmSync(project, { recursive: true, force: true }));

  it("declares every subpath the design names", () => {
    assert.deepEqual(subpaths.sort(), Object.keys(expectedExports).sort());
  });

  for (const format of ["esm", "cjs"] as const) {
    it(`exports exactly the listed values from ${format === "esm" ? "ES modules" : "CommonJS"}, sharing one copy of the core`, () => {
      const load = (name: string) =>
        format === "esm"
          ? `await import(${JSON.stringify(name)})`
          : `require(${JSON.stringify(name)})`;
      const script = `
        const loaded = {};
        for (const name of ${JSON.stringify(subpaths)}) loaded[name] = ${load("NAME").replace('"NAME"', "name")};
        const names = {};
        for (const [name, module] of Object.entries(loaded)) {
          names[name] = Object.keys(module).filter((n) => n !== "__esModule" && n !== "default").sort();
        }
        const core = loaded["traffik"];
        const errors = loaded["traffik/errors"];
        const backend = new loaded["traffik/backends/inmemory"].InMemoryBackend({ namespace: "pack" });
        const checks = {
          names,
          sharedBase: backend instanceof loaded["traffik/backend"].ThrottleBackend,
        };
        const throttle = new core.HTTPThrottle({ uid: "p", rate: "1/m", backend });
        const request = { socket: { remoteAddress: "192.0.2.1" }, headers: {} };
        const run = async () => {
          await throttle.hit(request);
          try { await throttle.hit(request); } catch (e) { checks.throttled = e instanceof errors.ConnectionThrottled; }
          try { new core.Rate("nonsense"); } catch (e) { checks.sharedErrors = e instanceof errors.ConfigurationError; }
          console.log(JSON.stringify(checks));
        };
        ${format === "esm" ? "await run();" : "run();"}
      `;
      const file = join(project, format === "esm" ? "check.mjs" : "check.cjs");
      writeFileSync(file, script);
      const output = execFileSync(process.execPath, [file], { cwd: project, encoding: "utf8" });
      assert.deepEqual(JSON.parse(output), {
        names: expectedValues,
        sharedBase: true,
        throttled: true,
        sharedErrors: true,
      });
    });
  }

  for (const resolution of ["node16 from ESM", "node16 from CommonJS", "node10"] as Resolution[]) {
    it(`publishes exactly the listed values and types, resolved as ${resolution}`, () => {
      assert.deepEqual(publishedExports(project, subpaths, resolution), expectedExports);
    });
  }

  it("keeps @internal members out of the published types", () => {
    const dist = join(project, "node_modules", "traffik", "dist");
    for (const file of ["index.d.ts", "index.d.cts", "backend.d.ts", "backend.d.cts"]) {
      const types = readFileSync(join(dist, file), "utf8");
      for (const internal of ["toDecision", "decideOnError", "withinTimeout", "pendingCommands"]) {
        assert.ok(!types.includes(internal), `${file} shows ${internal}`);
      }
    }
  });

  it("passes @arethetypeswrong/cli in every resolution mode, and publint", () => {
    const bin = (name: string) => join(root, "node_modules", ".bin", name);
    for (const [tool, args] of [
      ["attw", [tarball, "--format", "ascii"]],
      ["publint", [tarball, "--strict"]],
    ] as const) {
      try {
        execFileSync(bin(tool), args, { cwd: project, encoding: "utf8", stdio: "pipe" });
      } catch (error) {
        assert.fail(`${tool} found problems:\n${(error as { stdout?: string }).stdout ?? error}`);
      }
    }
  });
});
