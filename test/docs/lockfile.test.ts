import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { root } from "./code-blocks.js";

const read = (file: string) => readFileSync(join(root, file), "utf8");

it("package-lock.json is one that npm 10 (Node 20's) and npm 11 both leave as it is", () => {
  // npm 11 records a native package's `libc`; npm 10 drops the field, so a lock written by npm
  // 11 is rewritten by every `npm install` on Node 20. One written by npm 10 is kept by both.
  const lines = read("package-lock.json")
    .split("\n")
    .flatMap((line, index) => (line.includes('"libc"') ? [index + 1] : []));
  assert.deepEqual(
    lines,
    [],
    `package-lock.json has "libc" fields (lines ${lines.join(", ")}): write it with npm 10, ` +
      "`npx npm@10 install`, so that `npm install` on a fresh clone leaves it unchanged.",
  );
});
