/**
 * TypeDoc's settings reject an undocumented export and a broken link: without this, a clean
 * build of the API reference (api-reference.test.ts) would prove nothing. A file of its own:
 * the two TypeDoc runs together took 82 s of the runner's 120 on a loaded machine.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { root } from "./code-blocks.js";
import { runTypedoc } from "./typedoc.js";

describe("the API reference's settings", () => {
  const folder = join(root, ".tmp", `typedoc-checks-${process.pid}`);
  after(() => rmSync(folder, { recursive: true, force: true }));

  it("fails, under the same settings, on an undocumented export and a broken link", () => {
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, "index.ts"),
      [
        "/** A documented constant. See {@link Nowhere}. */",
        "export const documented = 1;",
        "export function undocumented(): void {}",
      ].join("\n"),
    );
    writeFileSync(
      join(folder, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true }, files: ["index.ts"] }),
    );
    const settings = JSON.parse(readFileSync(join(root, "typedoc.json"), "utf8")) as object;
    writeFileSync(
      join(folder, "typedoc.json"),
      JSON.stringify({
        ...settings,
        entryPoints: [join(folder, "index.ts")],
        tsconfig: join(folder, "tsconfig.json"),
        intentionallyNotExported: [],
      }),
    );
    const { ok, output } = runTypedoc(join(folder, "typedoc.json"), join(folder, "fixture-api"));
    assert.equal(ok, false);
    assert.match(output, /undocumented.*does not have any documentation/);
    assert.match(output, /Nowhere/);
  });
});
