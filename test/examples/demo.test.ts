import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";

it("the README's demo (npm start) serves, throttles, and admits again after the wait", () => {
  const root = join(import.meta.dirname, "..", "..");
  const output = execFileSync(process.execPath, ["--import", "tsx", "examples/demo.ts"], {
    cwd: root,
    encoding: "utf8",
    // Synchronous, so no timer of this process could end a hung demo: the child has a limit.
    timeout: 50_000,
  });
  const statuses = [...output.matchAll(/^request \d+: (\d{3})/gm)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429, 200]);
  assert.match(output, /Retry-After: 1/);
});
