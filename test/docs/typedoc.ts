/** Runs TypeDoc as `npm run docs` does, for the API reference tests. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { root } from "./code-blocks.js";

const typedoc = join(root, "node_modules", "typedoc", "bin", "typedoc");

/** Runs TypeDoc with the settings of `options` (a typedoc.json), writing its pages to `out`. */
export function runTypedoc(options: string, out: string): { ok: boolean; output: string } {
  const result = spawnSync(process.execPath, [typedoc, "--options", options, "--out", out], {
    cwd: root,
    encoding: "utf8",
  });
  // Colours off the text, so the messages can be matched.
  const output = stripVTControlCharacters(`${result.stdout}${result.stderr}`);
  return { ok: result.status === 0, output };
}
