/** traffik/otel without `@opentelemetry/api` installed: it loads; instrumenting says what to install. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

describe("traffik/otel without @opentelemetry/api", () => {
  it("loads, and instrumentTraffik rejects with a ConfigurationError naming the package", async () => {
    const worker = join(import.meta.dirname, "missing-api-worker.ts");
    const hide = join(import.meta.dirname, "..", "support", "hide-packages.mjs");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--import", hide, worker], {
      encoding: "utf8",
      env: { ...process.env, TRAFFIK_HIDE: "@opentelemetry/api" },
    });
    assert.deepEqual(JSON.parse(stdout), {
      allowed: true,
      name: "ConfigurationError",
      code: "ERR_TRAFFIK_CONFIGURATION",
      message:
        'traffik/otel needs the "@opentelemetry/api" package, which is not installed: npm install @opentelemetry/api',
    });
  });
});
