/** `@throttled` from the installed package, compiled under experimentalDecorators. */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { compileAndRun, installPacked } from "./packed.js";

describe("the packed package, installed, with legacy decorators", () => {
  let project = "";

  before(() => {
    ({ project } = installPacked());
  });

  after(() => rmSync(project, { recursive: true, force: true }));

  it("runs @throttled compiled under experimentalDecorators, with node10 resolution (module: commonjs)", () => {
    const output = compileAndRun(project, "legacy", "decorated-method.ts", "ts", {
      module: "commonjs",
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    });
    assert.deepEqual(JSON.parse(output), { first: "192.0.2.1.csv", second: "throttled", calls: 1 });
  });
});
