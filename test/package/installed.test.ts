/**
 * The packed package installed in a project of its own, used as a consumer would: its command,
 * and `@throttled` compiled as a standard decorator (legacy-decorators.test.ts compiles it
 * under experimentalDecorators; exports.test.ts checks what it exports and types). Each
 * compile type-checks @types/node, seconds of CPU: one per file keeps each file well within
 * the per-file limit on a loaded machine.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compileAndRun, installPacked } from "./packed.js";

describe("the packed package, installed", () => {
  let project = "";

  before(() => {
    ({ project } = installPacked());
  });

  after(() => rmSync(project, { recursive: true, force: true }));

  it("runs `npx traffik simulate` from the installed package", () => {
    const out = join(project, "picture.svg");
    const args = ["--offline", "traffik", "simulate", "--strategy", "gcra", "--traffic", "burst"];
    execFileSync("npx", [...args, "--out", out], { cwd: project, stdio: "pipe" });
    const svg = readFileSync(out, "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
    assert.match(svg, /<title>GCRA at 10\/1s: burst 20\/1s<\/title>/);
    assert.ok(svg.endsWith("</svg>\n"));
  });

  it("runs @throttled compiled as a standard (TC39) decorator, as an ES module", () => {
    const output = compileAndRun(project, "tc39", "decorated-method.ts", "mts", {
      module: "nodenext",
    });
    assert.deepEqual(JSON.parse(output), { first: "192.0.2.1.csv", second: "throttled", calls: 1 });
  });
});
