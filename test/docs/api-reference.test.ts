import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { root } from "./code-blocks.js";

const typedoc = join(root, "node_modules", "typedoc", "bin", "typedoc");

/** Runs TypeDoc with the settings of `options` (a typedoc.json), writing its pages to `out`. */
function runTypedoc(options: string, out: string): { ok: boolean; output: string } {
  const result = spawnSync(process.execPath, [typedoc, "--options", options, "--out", out], {
    cwd: root,
    encoding: "utf8",
  });
  // Colours off the text, so the messages can be matched.
  const output = stripVTControlCharacters(`${result.stdout}${result.stderr}`);
  return { ok: result.status === 0, output };
}

describe("the API reference (TypeDoc, from the TSDoc)", () => {
  const folder = join(root, ".tmp", `typedoc-${process.pid}`);
  after(() => rmSync(folder, { recursive: true, force: true }));

  it("builds with every export documented, every link resolved, nothing public left out", () => {
    // As `npm run docs` does, pages included: some warnings come only when they are written.
    const { ok, output } = runTypedoc(join(root, "typedoc.json"), join(folder, "api"));
    assert.ok(ok, `TypeDoc found problems:\n${output}`);
  });

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
