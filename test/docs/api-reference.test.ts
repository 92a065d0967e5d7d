/** The API reference builds clean; api-reference-checks.test.ts shows the same settings fail a bad one. */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { root } from "./code-blocks.js";
import { runTypedoc } from "./typedoc.js";

describe("the API reference (TypeDoc, from the TSDoc)", () => {
  const folder = join(root, ".tmp", `typedoc-${process.pid}`);
  after(() => rmSync(folder, { recursive: true, force: true }));

  it("builds with every export documented, every link resolved, nothing public left out", () => {
    // As `npm run docs` does, pages included: some warnings come only when they are written.
    const { ok, output } = runTypedoc(join(root, "typedoc.json"), join(folder, "api"));
    assert.ok(ok, `TypeDoc found problems:\n${output}`);
  });
});
